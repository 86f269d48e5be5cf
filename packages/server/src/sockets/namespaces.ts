/**
 * Which Socket.IO namespaces exist: the default `/` and, through one dynamic parent namespace, every
 * custom namespace that matches the name rule of PROTOCOL.md §1. Socket.IO refuses any other at the
 * handshake ("Invalid namespace"). Middleware goes on both, since the parent's does not run for `/`.
 */
import { CUSTOM_NAMESPACE_PATTERN } from "@mailroom/protocol";
import type { Namespace, Server, Socket } from "socket.io";

export interface NamespaceHooks {
  onConnection(socket: Socket): void;
}

/** Returns the namespaces that middleware must be installed on: the default one and the dynamic parent. */
export function mountNamespaces(io: Server, hooks: NamespaceHooks): Namespace[] {
  const roots = [io.of("/"), io.of(CUSTOM_NAMESPACE_PATTERN)] as Namespace[];
  for (const root of roots) root.on("connection", (socket: Socket) => hooks.onConnection(socket));
  return roots;
}
