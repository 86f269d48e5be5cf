/**
 * `--cors-origins` for Socket.IO (docs/protocol.md §16 and "Mailroom's choices"). Unset, Socket.IO answers
 * every origin as it always has (`Access-Control-Allow-Origin: *`, no credentials): its clients prove who
 * they are with a token, and pages on other origins connect today. `*` is the same. A list applies to
 * Socket.IO as to the HTTP API: polling answers carry CORS headers for those origins only, with credentials
 * (so a page can send a load balancer's sticky-session cookie with `withCredentials: true`), and a handshake
 * whose `Origin` is another one is refused, WebSocket included, which CORS alone would not stop. A
 * handshake with no `Origin` (not from a browser: Node.js clients, the CLI) is let in.
 * @example
 * const io = new Server(httpServer, { ...socketIoOriginOptions(allowedOrigins(config.corsOrigins), draining.allowRequest) });
 */
import type { ServerOptions } from "socket.io";
import { type AllowedOrigins, ANY_ORIGIN, isOriginAllowed } from "../../cors-origins.js";

type AllowRequest = NonNullable<ServerOptions["allowRequest"]>;

/** What Socket.IO's server takes for the setting: its `cors`, and an `allowRequest` that checks `Origin` before `next`. */
export function socketIoOriginOptions(
  allowed: AllowedOrigins | undefined,
  next: AllowRequest,
): Pick<ServerOptions, "cors" | "allowRequest"> {
  if (allowed === undefined || allowed === ANY_ORIGIN) {
    return { cors: { origin: ANY_ORIGIN, credentials: false }, allowRequest: next };
  }
  return {
    cors: { origin: [...allowed], credentials: true },
    allowRequest: (request, callback) => {
      const origin = request.headers.origin;
      if (origin !== undefined && !isOriginAllowed(allowed, origin)) {
        callback(`origin ${origin} is not one of the node's CORS origins`, false);
        return;
      }
      next(request, callback);
    },
  };
}
