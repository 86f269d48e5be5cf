/**
 * `--admin-ui` (docs/protocol.md §16): the node instrumented for the stock `@socket.io/admin-ui`.
 *
 * - Namespace: admin-ui's default, `/admin`, made a static namespace before Mailroom's dynamic parent
 *   exists (`attachAdminUi` must run first), which Socket.IO then finds before the parent: a client that
 *   connects to `/admin` reaches the admin UI, not Mailroom. None of Mailroom's handshake checks,
 *   per-connection limits, commands or namespace reaping apply there; an event sent there with an
 *   acknowledgement is answered `NOT_FOUND`, so a Mailroom client that picked the name learns why.
 * - Server id: the node's id, the one its logs, metrics and `/v1/cluster` show, so two nodes on one host
 *   are two servers in the UI (admin-ui's default, the host name, would merge them). With the Redis
 *   adapter every node's stats reach an admin connected to any node.
 * - Read-only: admin-ui's write actions would go around Mailroom (a join it does is not in the
 *   membership registry nor counted under the room limit; an emit could forge a delivery), and each calls
 *   `io.of(name)` with the name the UI sends, which would create a namespace that none of Mailroom's
 *   handshake checks guard.
 * - Mode: `production` by default: stats every 2 s and aggregated counts. `development` also wraps
 *   `socket.data` in a Proxy and streams every socket's every event, payload included, to the admin
 *   namespace, through Redis, whether an admin watches or not (admin-ui#22: unusable past thousands of
 *   sockets); it is for small deployments.
 * - Auth: admin-ui's own (`basic`, a bcrypt password) is off; with a JWT key configured, the namespace's
 *   handshake admits only a token with the `admin` right on every namespace (`*`), since the UI shows
 *   every namespace's sockets. The token goes in `auth.token` (socket.io-client) or in the UI's login
 *   form as the password (`auth.password`; the user name is not read). It is refused `unauthorized` or
 *   `forbidden` as on every namespace, and the socket is disconnected when the token expires.
 * - Admin-ui's updates to the namespace cannot throw into the node: in development mode they are sent
 *   from inside the node's own emits and event dispatch, and encoding one (for Redis too) can fail on a
 *   client's payload; such an update is dropped and logged.
 */
import { MailroomError } from "@mailroom/protocol";
import { instrument } from "@socket.io/admin-ui";
import type { FastifyBaseLogger } from "fastify";
import type { Server } from "socket.io";
import { satisfies } from "../../auth/rights.js";
import type { TokenVerifier } from "../../auth/token-verifier.js";
import type { AdminUiMode } from "../../config.js";
import type { MailroomNamespace, MailroomServer } from "../../socket-types.js";
import { guarded } from "./listener-guards.js";
import { disconnectAtTokenExpiry, type HandshakeCheck, socketAuth } from "./socket-auth.js";

/** The admin UI's namespace: admin-ui's default, which its UI connects to unless told otherwise. */
export const ADMIN_UI_NAMESPACE = "/admin";

/** The admin namespace's handshake: a Mailroom token with `admin` on `*`, as `auth.token` or the UI's password. */
export const ADMIN_UI_CHECK: HandshakeCheck = {
  tokenOf: (auth) => auth.token ?? auth.password,
  admits: (principal) => satisfies(principal.rights, "*", "admin"),
};

export interface AdminUiOptions {
  /** The server id the UI lists this node under: the node's id. */
  serverId: string;
  mode: AdminUiMode;
  /** The node's token verifier; undefined with auth off (the namespace is then open, as every other). */
  verifier: TokenVerifier | undefined;
  logger: FastifyBaseLogger;
}

/**
 * Instruments `io`; call it once, before Mailroom's namespaces are mounted (namespaces.ts): `io.of(name)`
 * of a name that a dynamic parent namespace matches makes a child of that parent, with the parent's
 * middleware and handlers, and the namespace reaper would then take it out as soon as it is empty.
 */
export function attachAdminUi(io: MailroomServer, { serverId, mode, verifier, logger }: AdminUiOptions): void {
  const admin = io.of(ADMIN_UI_NAMESPACE);
  dropFailedUpdates(admin, logger);
  if (verifier) admin.use(socketAuth(verifier, logger, ADMIN_UI_CHECK));
  admin.on("connection", (socket) => {
    disconnectAtTokenExpiry(socket);
    socket.onAny(
      guarded(logger, "answering an event in the admin namespace", (_event: unknown, ...args: unknown[]) => {
        const ack = args.at(-1);
        if (typeof ack !== "function") return;
        const error = new MailroomError(
          "NOT_FOUND",
          `${ADMIN_UI_NAMESPACE} is the admin UI's namespace while --admin-ui is on: Mailroom serves no command here`,
        );
        ack({ ok: false, error: error.toBody() });
      }),
    );
  });
  // admin-ui types its argument as the untyped Server; it reads only what every Server has.
  instrument(io as unknown as Server, {
    namespaceName: ADMIN_UI_NAMESPACE,
    serverId,
    mode,
    readonly: true,
    auth: false,
  });
}

/** Makes the admin namespace's `emit` log and drop an update it cannot send, instead of throwing. */
function dropFailedUpdates(admin: MailroomNamespace, logger: FastifyBaseLogger): void {
  const target = admin as unknown as { emit: (event: string, ...args: unknown[]) => boolean };
  const emit = target.emit.bind(admin);
  target.emit = (event, ...args) => {
    try {
      return emit(event, ...args);
    } catch (error) {
      logger.warn({ err: error, event }, "an admin UI update could not be sent: dropped");
      return false;
    }
  };
}
