/**
 * Auth for Socket.IO: a handshake middleware, installed on every namespace (sockets/namespaces.ts).
 * No or a bad token is refused with `connect_error` "unauthorized"; a valid token with no right in the
 * namespace with "forbidden".
 * A socket keeps its handshake's rights and is disconnected when its token expires: the timer is armed
 * once it has connected (`disconnectAtTokenExpiry`), so a socket that a later check refuses leaves no timer.
 */
import { MailroomError } from "@mailroom/protocol";
import { type Requirement, satisfies } from "../../auth/rights.js";
import type { TokenVerifier } from "../../auth/token-verifier.js";
import type { MailroomSocket } from "../../socket-types.js";
import type { HandshakeMiddleware } from "./namespaces.js";
import { admitPrincipal, principalOf } from "./socket-state.js";

/** The longest a timer can wait (about 24.8 days); a later expiry is checked again then. */
const MAX_TIMER_MS = 2_147_483_647;

export function socketAuth(verifier: TokenVerifier): HandshakeMiddleware {
  return (socket, next) => {
    verifier.verify((socket.handshake.auth as { token?: unknown } | undefined)?.token).then(
      (principal) => {
        if (!satisfies(principal.rights, socket.nsp.name, "any")) return next(new Error("forbidden"));
        admitPrincipal(socket, principal);
        next();
      },
      () => next(new Error("unauthorized")),
    );
  };
}

/** Disconnects a connected socket when the token of its handshake expires; nothing with auth off. */
export function disconnectAtTokenExpiry(socket: MailroomSocket): void {
  const principal = principalOf(socket);
  if (principal) disconnectAtExpiry(socket, principal.expiresAt);
}

function disconnectAtExpiry(socket: MailroomSocket, expiresAt: number): void {
  const arm = () => {
    const remaining = expiresAt - Date.now();
    if (remaining <= 0) {
      socket.disconnect(true);
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
    timer.unref();
  };
  let timer: NodeJS.Timeout | undefined;
  arm();
  socket.once("disconnect", () => clearTimeout(timer));
}

/** The check each command runs before its handler, once auth is on. */
export function authorizeSocket(socket: MailroomSocket, requirement: Requirement): void {
  const principal = principalOf(socket);
  if (principal && satisfies(principal.rights, socket.nsp.name, requirement)) return;
  throw new MailroomError("FORBIDDEN", `this token lacks the ${requirement} right in ${socket.nsp.name}`);
}
