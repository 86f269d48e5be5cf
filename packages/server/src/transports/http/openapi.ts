/**
 * The OpenAPI document of the HTTP API at `/openapi.json`, and its UI at `/docs` (docs/protocol.md §6). The
 * document is made from the routes' own schemas (@fastify/swagger collects every route registered after
 * it in this scope); `/healthz` and `/readyz`, served by health-routes.ts outside this scope, are
 * described here. Neither the document nor the UI needs a token.
 */
import { createRequire } from "node:module";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

/** This package's version: the API's, in the document and at `GET /`. */
export const SERVER_VERSION = (createRequire(import.meta.url)("../../../package.json") as { version: string }).version;

/** OpenAPI 3.1, whose schemas are JSON Schema: TypeBox's records and literals need no translation. */
const OPENAPI_VERSION = "3.1.0";

const OPERATIONAL_PATHS = {
  "/healthz": {
    get: {
      tags: ["operations"],
      summary: "Liveness: 200 while the process serves",
      security: [],
      responses: { 200: { description: "The process serves" } },
    },
  },
  "/readyz": {
    get: {
      tags: ["operations"],
      summary: "Readiness: 200 when the store answers, else 503 with the reason",
      security: [],
      responses: {
        200: { description: "Ready" },
        503: { description: "Not ready: the store is unreachable or the node has not joined the cluster yet" },
      },
    },
  },
};

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: {
        title: "Mailroom HTTP API",
        version: SERVER_VERSION,
        description:
          "Queues and rooms over HTTP, beside Socket.IO on the same port. Every error is " +
          '{ "error": { "code", "message" } }. In JSON, binary data is written { "$binary": "<base64>" }.',
      },
      // Once a JWT key is configured, every route but the operational ones needs a bearer token (§7).
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
      security: [{ bearer: [] }],
      tags: [
        { name: "queues", description: "Send, receive, acknowledge and administer queued messages" },
        { name: "rooms", description: "Publish to rooms and list their members" },
        { name: "cluster", description: "The nodes of the cluster" },
        { name: "operations", description: "Liveness and readiness" },
      ],
    },
    transformObject: (document) =>
      "openapiObject" in document
        ? { ...document.openapiObject, paths: { ...document.openapiObject.paths, ...OPERATIONAL_PATHS } }
        : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
