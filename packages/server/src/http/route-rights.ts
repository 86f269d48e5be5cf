/**
 * The right each HTTP route needs once auth is on, declared in the route's `config.right` so a
 * `preParsing` hook can check it in the route's namespace (`{ns}`). A route that declares none is open
 * (`/healthz`, `/readyz`, `/openapi.json`, `/docs`). This module only declares: it checks nothing.
 */

/**
 * One right in the route's namespace (`admin` grants every one), `any` right there (stats, lists,
 * members), or only a valid `token` (the cluster listing).
 */
export type RouteRight = "send" | "consume" | "join" | "publish" | "admin" | "any" | "token";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The right this route needs once auth is on; absent: the route is open. */
    right?: RouteRight;
  }
}
