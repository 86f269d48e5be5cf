/**
 * Which Socket.IO namespaces exist: the default `/` and, through one dynamic parent namespace, every
 * custom namespace that matches the name rule of docs/protocol.md §1. Socket.IO refuses any other at the
 * handshake ("Invalid namespace"). Handshake middleware goes on both, since the parent's does not run
 * for `/` (Socket.IO copies the parent's to each child namespace it creates, so it is all installed here,
 * before any child exists). A refused handshake is told to `onRefused`: Socket.IO creates a child
 * namespace before its middleware runs, and one made only for a refused socket must not stay behind.
 * Nothing here throws into Socket.IO: a middleware that throws refuses the handshake with
 * `INTERNAL_REFUSAL`, and a connection whose set-up throws is disconnected; both are logged.
 */
import { CUSTOM_NAMESPACE_PATTERN } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { MailroomNamespace, MailroomServer, MailroomSocket } from "../../socket-types.js";

/** A handshake check: `next()` admits the socket, `next(error)` refuses it with `error.message`. */
export type HandshakeMiddleware = (socket: MailroomSocket, next: (error?: Error) => void) => void;

/** The `connect_error` message of a handshake refused by a failing check (a bug, logged). */
export const INTERNAL_REFUSAL = "internal error";

export interface NamespaceHooks {
  /** The handshake checks, run in this order for every namespace. */
  middleware: HandshakeMiddleware[];
  onConnection(socket: MailroomSocket): void;
  /** A middleware refused this socket; Socket.IO drops it on the next tick. */
  onRefused(socket: MailroomSocket): void;
  /** Where a failing middleware or set-up is logged. */
  logger: FastifyBaseLogger;
}

export interface MountedNamespaces {
  /** The default namespace. */
  root: MailroomNamespace;
  /** The dynamic parent of every custom namespace. */
  parent: MailroomNamespace;
}

export function mountNamespaces(io: MailroomServer, hooks: NamespaceHooks): MountedNamespaces {
  const root = io.of("/");
  const parent = io.of(CUSTOM_NAMESPACE_PATTERN) as MailroomNamespace;
  for (const namespace of [root, parent]) {
    for (const middleware of hooks.middleware) {
      namespace.use((socket, next) => runMiddleware(middleware, socket, next, hooks));
    }
    namespace.on("connection", (socket: MailroomSocket) => connect(socket, hooks));
  }
  return { root, parent };
}

function runMiddleware(
  middleware: HandshakeMiddleware,
  socket: MailroomSocket,
  next: (error?: Error) => void,
  hooks: NamespaceHooks,
): void {
  let settled = false;
  const settle = (error?: Error) => {
    if (settled) return;
    settled = true;
    next(error);
    if (error) hooks.onRefused(socket);
  };
  try {
    middleware(socket, settle);
  } catch (error) {
    hooks.logger.error({ err: error, namespace: socket.nsp.name }, "handshake check failed");
    settle(new Error(INTERNAL_REFUSAL));
  }
}

function connect(socket: MailroomSocket, hooks: NamespaceHooks): void {
  try {
    hooks.onConnection(socket);
  } catch (error) {
    hooks.logger.error({ err: error, namespace: socket.nsp.name, socket: socket.id }, "socket set-up failed");
    socket.disconnect();
  }
}
