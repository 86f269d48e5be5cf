/**
 * The HTTP request rate (docs/protocol.md, "Mailroom's choices"): each client address may make `--http-requests-per-minute`
 * requests in a one-minute window; past it a request is answered 429 `RATE_LIMITED` (with `Retry-After`
 * the seconds until the window ends) before its body is read or its token checked. Health, readiness,
 * metrics, the docs, the SDK's browser build and the dashboard's page and files are exempt, so probes, operators and pages are never locked
 * out. Socket.IO's own HTTP requests never reach Fastify, so they are not counted (commands have their own
 * limit).
 *
 * Register the plugin at the root, before any route: it adds its check to each route as it is added.
 * @example
 * app.register(rateLimit, httpRateLimitOptions(config.httpRequestsPerMinute));
 */
import type { RateLimitPluginOptions } from "@fastify/rate-limit";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyRequest } from "fastify";
import { BROWSER_CLIENT_ROUTES } from "./browser-client.js";
import { DASHBOARD_ROUTES } from "./dashboard-route.js";
import { DOCS_PATH, OPENAPI_PATH } from "./openapi.js";

/** The window the per-client count runs over: the setting is per minute. */
const WINDOW_MS = 60_000;

/** Routes that answer without limit. */
const EXEMPT_ROUTES: ReadonlySet<string> = new Set([
  "/healthz",
  "/readyz",
  "/metrics",
  OPENAPI_PATH,
  DOCS_PATH,
  ...BROWSER_CLIENT_ROUTES,
  ...DASHBOARD_ROUTES,
]);

export function httpRateLimitOptions(requestsPerMinute: number): RateLimitPluginOptions {
  return {
    max: requestsPerMinute,
    timeWindow: WINDOW_MS,
    allowList: isExempt,
    errorResponseBuilder: (_request, context) =>
      new MailroomError(
        "RATE_LIMITED",
        `over ${context.max} HTTP requests per minute from this address: retry in ${context.after}`,
      ),
  };
}

function isExempt(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route === undefined) return false;
  return EXEMPT_ROUTES.has(route) || route.startsWith(`${DOCS_PATH}/`);
}
