/**
 * The OpenAPI document of the HTTP API at `/openapi.json`, and its UI at `/docs` (docs/protocol.md §6). The
 * document is made from the routes' own schemas (@fastify/swagger collects every route registered after
 * it in this scope); `/healthz` and `/readyz`, served by health-routes.ts outside this scope, are
 * described here. Neither the document nor the UI needs a token. The UI shows Mailroom's name and mark,
 * not the UI package's own (Fastify's) logo. Descriptions are Markdown in the UI: a literal like
 * `{ "$binary": "<base64>" }` goes in backticks, or `<base64>` is taken for an HTML tag and dropped.
 */
import { createRequire } from "node:module";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

/** This package's version: the API's, in the document and at `GET /`. */
export const SERVER_VERSION = (createRequire(import.meta.url)("../../../package.json") as { version: string }).version;

/** An envelope, the mark of the UI's tab (favicon) and of its top bar (with the name). */
const ENVELOPE_PATHS =
  '<rect x="2" y="8" width="36" height="24" rx="3" fill="none" stroke="#fff" stroke-width="2.5"/>' +
  '<path d="M3.5 10 20 23 36.5 10" fill="none" stroke="#fff" stroke-width="2.5" stroke-linejoin="round"/>';
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="6" fill="#1b1b1b"/>${ENVELOPE_PATHS}</svg>`;
/** White on the UI's dark top bar. */
const LOGO_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" width="190" height="40" viewBox="0 0 190 40">${ENVELOPE_PATHS}` +
  '<text x="48" y="28" fill="#fff" font-family="sans-serif" font-size="24" font-weight="600">Mailroom</text></svg>';

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
          '`{ "error": { "code", "message" } }`. In JSON, binary data is written `{ "$binary": "<base64>" }`.',
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
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    logo: { type: "image/svg+xml", content: LOGO_SVG },
    theme: {
      title: "Mailroom HTTP API",
      favicon: [{ filename: "favicon.svg", rel: "icon", sizes: "any", type: "image/svg+xml", content: FAVICON_SVG }],
    },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
