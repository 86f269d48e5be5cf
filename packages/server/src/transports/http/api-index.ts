/**
 * `GET /`: what someone who opens the node's address finds instead of a 404: the product, its version,
 * and where the API's documentation, its OpenAPI document, health, readiness, metrics, the SDK's
 * browser build and the dashboard are. Open like
 * `/healthz` (it declares no right), answered while draining, and not part of the OpenAPI document
 * (it describes the node, not the API). It lists only what the node serves.
 */
import type { FastifyInstance } from "fastify";
import { BROWSER_CLIENT_FILE } from "./browser-client.js";
import { DASHBOARD_PATH } from "./dashboard-route.js";
import { DOCS_PATH, OPENAPI_PATH, SERVER_VERSION } from "./openapi.js";

/** The body of `GET /` (docs/protocol.md, "HTTP API"). */
export const API_INDEX = {
  name: "Mailroom",
  version: SERVER_VERSION,
  docs: DOCS_PATH,
  openapi: OPENAPI_PATH,
  health: "/healthz",
  ready: "/readyz",
  metrics: "/metrics",
  browserClient: `/${BROWSER_CLIENT_FILE}`,
  dashboard: DASHBOARD_PATH,
} as const;

export async function apiIndexRoute(app: FastifyInstance): Promise<void> {
  app.get("/", { schema: { hide: true } }, async () => API_INDEX);
}
