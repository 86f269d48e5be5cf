/**
 * What a person finds who opens a node in a browser (docs/protocol.md, "HTTP API"): `GET /` points at the
 * docs and the operational routes instead of a 404; `/docs` shows Mailroom's name and mark, not the UI
 * package's Fastify logo; and the OpenAPI document spells out binary data's `{ "$binary": "<base64>" }`
 * form, with no description whose `<word>` the UI's Markdown would swallow as an HTML tag.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";

const SERVER_MANIFEST = new URL("../packages/server/package.json", import.meta.url);
const SERVER_VERSION = (JSON.parse(readFileSync(SERVER_MANIFEST, "utf8")) as { version: string }).version;

/** The logo @fastify/swagger-ui shows unless told otherwise: Fastify's. */
function fastifyLogo(): Buffer {
  const swaggerUiManifest = createRequire(SERVER_MANIFEST).resolve("@fastify/swagger-ui/package.json");
  return readFileSync(new URL("static/logo.svg", `file://${swaggerUiManifest}`));
}

async function getJson(node: NodeHandle, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${node.url}${path}`);
  return { status: response.status, body: await response.json() };
}

type Schema = { anyOf?: Schema[]; type?: string; required?: string[]; properties?: Record<string, Schema> };
type OpenApiDocument = { paths: Record<string, Record<string, unknown>> };

/** The JSON body schema of an operation's request, or of its 200/201/202 answer. */
function jsonSchema(operation: unknown, where: "request" | "response"): Schema {
  const { requestBody, responses } = operation as {
    requestBody: { content: Record<string, { schema: Schema }> };
    responses: Record<string, { content: Record<string, { schema: Schema }> }>;
  };
  const content =
    where === "request" ? requestBody.content : (responses["200"] ?? responses["201"] ?? responses["202"])?.content;
  const schema = content?.["application/json"]?.schema;
  if (schema === undefined) throw new Error(`no JSON ${where} schema`);
  return schema;
}

/** Whether `schema` offers the one-key `{ "$binary": string }` object among its alternatives. */
function offersBinaryForm(schema: Schema | undefined): boolean {
  return (schema?.anyOf ?? []).some(
    (branch) =>
      branch.type === "object" &&
      branch.required?.includes("$binary") === true &&
      branch.properties?.$binary?.type === "string" &&
      Object.keys(branch.properties).length === 1,
  );
}

/** Every `description` string anywhere in `value`. */
function descriptions(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(descriptions);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "description" && typeof inner === "string" ? [inner] : descriptions(inner),
  );
}

describe("GET /", () => {
  it("answers the node's name and version, and where its docs, OpenAPI document, health, readiness, metrics, browser SDK and dashboard are", async () => {
    const node = await startNode();
    const index = await getJson(node, "/");
    expect(index).toEqual({
      status: 200,
      body: {
        name: "Mailroom",
        version: SERVER_VERSION,
        docs: "/docs",
        openapi: "/openapi.json",
        health: "/healthz",
        ready: "/readyz",
        metrics: "/metrics",
        browserClient: "/mailroom-client.js",
        dashboard: "/admin",
      },
    });
  });

  it("points only at routes the node serves", async () => {
    const node = await startNode();
    const { body } = await getJson(node, "/");
    const { name: _name, version: _version, ...paths } = body as Record<string, string>;
    for (const path of Object.values(paths)) expect((await fetch(`${node.url}${path}`)).status, path).toBe(200);
  });
});

describe("/docs", () => {
  it("shows Mailroom's name and mark, not Fastify's logo", async () => {
    const node = await startNode();
    const html = await (await fetch(`${node.url}/docs`)).text();
    expect(html).toContain("<title>Mailroom HTTP API</title>");
    expect(html).not.toContain("favicon-32x32.png");
    const favicon = html.match(/<link rel="icon" type="image\/svg\+xml" href="([^"]+)"/)?.[1];
    expect(favicon).toBeDefined();
    const faviconResponse = await fetch(new URL(favicon as string, `${node.url}/docs`));
    expect(faviconResponse.status).toBe(200);
    expect(await faviconResponse.text()).toMatch(/^<svg /);

    // The UI's script puts the logo in its top bar, as a data URL.
    const initializer = await (await fetch(`${node.url}/docs/static/swagger-initializer.js`)).text();
    const logo = initializer.match(/'data:image\/svg\+xml;base64,([^']+)'/)?.[1];
    expect(logo).toBeDefined();
    const svg = Buffer.from(logo as string, "base64");
    expect(svg.toString("utf8")).toContain(">Mailroom</text>");
    expect(svg.equals(fastifyLogo())).toBe(false);
    expect(initializer).not.toContain(fastifyLogo().toString("base64"));
  });
});

describe("the OpenAPI document's binary data", () => {
  it("offers the { $binary } object beside any JSON value wherever data goes in or comes out", async () => {
    const node = await startNode();
    const { body } = await getJson(node, "/openapi.json");
    const { paths } = body as OpenApiDocument;
    const queue = "/v1/namespaces/{ns}/queues/{queue}";
    const send = jsonSchema(paths[`${queue}/messages`]?.post, "request");
    const batch = jsonSchema(paths[`${queue}/messages/batch`]?.post, "request") as {
      properties: { messages: { items: Schema } };
    };
    const receive = jsonSchema(paths[`${queue}/receive`]?.post, "response") as {
      properties: { messages: { items: Schema } };
    };
    const publish = jsonSchema(paths["/v1/namespaces/{ns}/rooms/{room}/publish"]?.post, "request");
    const dataSchemas = {
      send: send.properties?.data,
      batch: batch.properties.messages.items.properties?.data,
      receive: receive.properties.messages.items.properties?.data,
      publish: publish.properties?.data,
    };
    for (const [where, schema] of Object.entries(dataSchemas)) {
      expect(offersBinaryForm(schema), where).toBe(true);
      // ...and any JSON value beside it: one alternative with no type at all.
      expect(
        schema?.anyOf?.some((branch) => branch.type === undefined && branch.anyOf === undefined),
        where,
      ).toBe(true);
    }
  });

  it("stays a valid OpenAPI document", async () => {
    const node = await startNode();
    const { body } = await getJson(node, "/openapi.json");
    await SwaggerParser.validate(structuredClone(body) as Parameters<typeof SwaggerParser.validate>[0]);
  });

  it("still carries JSON data and binary data through a send and a receive unchanged", async () => {
    const node = await startNode();
    const queue = `${node.url}/v1/namespaces/_/queues/forms`;
    const sent = [{ n: 1 }, { $binary: "aGVsbG8=" }, [1, "x", null], "text", null];
    for (const data of sent) {
      const response = await fetch(`${queue}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data }),
      });
      expect(response.status).toBe(201);
    }
    const response = await fetch(`${queue}/receive`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max: 10 }),
    });
    const { messages } = (await response.json()) as { messages: Array<{ data: unknown }> };
    expect(messages.map((message) => message.data)).toEqual(sent);
  });

  it("writes `<word>` placeholders in descriptions only inside code spans, where the UI's Markdown keeps them", async () => {
    const node = await startNode();
    const { body } = await getJson(node, "/openapi.json");
    const texts = descriptions(body);
    expect(texts.some((text) => text.includes('`{ "$binary": "<base64>" }`'))).toBe(true);
    for (const text of texts) expect(text.replace(/`[^`]*`/g, ""), text).not.toMatch(/<[A-Za-z][^>]*>/);
  });
});
