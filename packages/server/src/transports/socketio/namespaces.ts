/**
 * Which Socket.IO namespaces exist: the default `/` and, through one dynamic parent namespace, every
 * custom namespace that matches the name rule of docs/protocol.md §1. Socket.IO refuses any other at the
 * handshake ("Invalid namespace"). Handshake middleware goes on both, since the parent's does not run
 * for `/` (Socket.IO copies the parent's to each child namespace it creates, so it is all installed here,
 * before any child exists). A refused handshake is told to `onRefused`: Socket.IO creates a child
 * namespace before its middleware runs, and one made only for a refused socket must not stay behind.
 */
import { CUSTOM_NAMESPACE_PATTERN } from "@mailroom/protocol";
import type { MailroomNamespace, MailroomServer, MailroomSocket } from "../../socket-types.js";

/** A handshake check: `next()` admits the socket, `next(error)` refuses it with `error.message`. */
export type HandshakeMiddleware = (socket: MailroomSocket, next: (error?: Error) => void) => void;

export interface NamespaceHooks {
  /** The handshake checks, run in this order for every namespace. */
  middleware: HandshakeMiddleware[];
  onConnection(socket: MailroomSocket): void;
  /** A middleware refused this socket; Socket.IO drops it on the next tick. */
  onRefused(socket: MailroomSocket): void;
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
      namespace.use((socket, next) =>
        middleware(socket, (error) => {
          next(error);
          if (error) hooks.onRefused(socket);
        }),
      );
    }
    namespace.on("connection", (socket: MailroomSocket) => hooks.onConnection(socket));
  }
  return { root, parent };
}
