/**
 * What a person finds who opens a node in a browser (docs/protocol.md, "HTTP API"): `GET /` points at the
 * docs and the operational routes instead of a 404.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";

const SERVER_MANIFEST = new URL("../packages/server/package.json", import.meta.url);
const SERVER_VERSION = (JSON.parse(readFileSync(SERVER_MANIFEST, "utf8")) as { version: string }).version;

async function getJson(node: NodeHandle, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${node.url}${path}`);
  return { status: response.status, body: await response.json() };
}

describe("GET /", () => {
  it("answers the node's name and version, and where its docs, OpenAPI document, health, readiness and metrics are", async () => {
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
