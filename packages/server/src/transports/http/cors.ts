/**
 * CORS for the HTTP API (docs/protocol.md §16), with @fastify/cors, registered only when `--cors-origins`
 * is set: unset, no response carries a CORS header. Set, a request from an allowed origin gets
 * `Access-Control-Allow-Origin` (its own origin with `Vary: Origin`, or `*`), and preflights are answered
 * before auth, the rate limit and the drain check look at them (browsers send them without the token).
 * Never `Access-Control-Allow-Credentials`: tokens travel in `Authorization`, not in cookies.
 *
 * Register it at the root before the hooks that may refuse a request (the drain check, the rate limit, auth),
 * so that their refusals carry the CORS headers too and a browser can read the error, not a CORS failure.
 * @example
 * const origins = allowedOrigins(config.corsOrigins);
 * if (origins) app.register(cors, httpCorsOptions(origins));
 */
import type { FastifyCorsOptions } from "@fastify/cors";
import { type AllowedOrigins, ANY_ORIGIN } from "../../cors-origins.js";
import { BINARY_OPTION_HEADERS } from "./binary-body.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** `false`: the route answers CORS itself, and @fastify/cors leaves it alone. */
    cors?: false;
  }
}

/** The API's methods (docs/protocol.md §6); HEAD comes with every GET. */
const METHODS = ["GET", "HEAD", "POST", "DELETE"];

/**
 * Request headers a preflight allows: the token, JSON and binary bodies, and a binary send's options by
 * name. A binary send's message headers (`Mailroom-Header-<name>`) have open-ended names, which CORS can
 * only allow with the wildcard `*`; the wildcard never covers `Authorization`, hence its own entry, and
 * holds because no request is answered with credentials.
 */
const ALLOWED_HEADERS = ["Authorization", "Content-Type", ...BINARY_OPTION_HEADERS, "*"];

/** Response headers a page may read besides the safelisted ones: when to retry, and the rate limit's count. */
const EXPOSED_HEADERS = ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"];

/** How long a browser may reuse a preflight's answer: a changed `--cors-origins` reaches it within 10 minutes. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function httpCorsOptions(allowed: AllowedOrigins): FastifyCorsOptions {
  return {
    origin: allowed === ANY_ORIGIN ? ANY_ORIGIN : [...allowed],
    credentials: false,
    methods: METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  };
}
