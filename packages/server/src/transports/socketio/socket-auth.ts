/**
 * Auth for Socket.IO: a handshake middleware, installed on every namespace (sockets/namespaces.ts), and
 * on the admin UI's namespace with its own check (admin-ui.ts).
 * No or a bad token is refused with `connect_error` "unauthorized"; a valid token with no right in the
 * namespace with "forbidden".
 * A socket keeps its handshake's rights and is disconnected when its token expires: the timer is armed
 * once it has connected (`disconnectAtTokenExpiry`), so a socket that a later check refuses leaves no timer.
 */
import { MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import { type Requirement, satisfies } from "../../auth/rights.js";
import type { Principal, TokenVerifier } from "../../auth/token-verifier.js";
import type { MailroomSocket } from "../../socket-types.js";
import { type HandshakeMiddleware, INTERNAL_REFUSAL } from "./namespaces.js";
import { admitPrincipal, principalOf } from "./socket-state.js";

/** The longest a timer can wait (about 24.8 days); a later expiry is checked again then. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a namespace's handshake checks: where its token is, and which rights it needs. */
export interface HandshakeCheck {
  /** The token in the handshake's `auth` object. */
  tokenOf(auth: Record<string, unknown>): unknown;
  /** Whether the token's rights let the socket in; false refuses it "forbidden". */
  admits(principal: Principal, socket: MailroomSocket): boolean;
}

/** Mailroom's own namespaces: the token in `auth.token`, any right in the socket's namespace. */
export const NAMESPACE_CHECK: HandshakeCheck = {
  tokenOf: (auth) => auth.token,
  admits: (principal, socket) => satisfies(principal.rights, socket.nsp.name, "any"),
};

export function socketAuth(
  verifier: TokenVerifier,
  logger: FastifyBaseLogger,
  check: HandshakeCheck = NAMESPACE_CHECK,
): HandshakeMiddleware {
  return (socket, next) => {
    refusalOf(verifier, check, socket).then(next, (error: unknown) => {
      logger.error({ err: error, namespace: socket.nsp.name }, "handshake check failed");
      next(new Error(INTERNAL_REFUSAL));
    });
  };
}

/** Why the handshake is refused, or undefined when the socket may connect. */
async function refusalOf(
  verifier: TokenVerifier,
  check: HandshakeCheck,
  socket: MailroomSocket,
): Promise<Error | undefined> {
  let principal: Principal;
  try {
    principal = await verifier.verify(check.tokenOf(socket.handshake.auth ?? {}));
  } catch {
    return new Error("unauthorized");
  }
  if (!check.admits(principal, socket)) return new Error("forbidden");
  admitPrincipal(socket, principal);
  return undefined;
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
