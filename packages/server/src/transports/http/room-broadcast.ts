/**
 * A room broadcast from the server itself (HTTP publish), to every member on every node, without
 * creating a namespace on this node.
 *
 * Why not `io.of(name)`: with our dynamic parent namespace, `io.of("/orders")` creates a child namespace
 * (socket.io 4.8 `Server.of` → `ParentNamespace.createChild`, dist/index.js and dist/parent-namespace.js)
 * and registers it in `io._nsps` for good: `cleanupEmptyChildNamespaces` removes a child only when its last socket leaves, and one that
 * never had a socket never leaves. Each HTTP publish to a new name would then leave a namespace behind,
 * with its adapter's Redis subscriptions: an unbounded leak driven by clients.
 *
 * So: when the namespace exists here (it has, or had, local sockets), its own adapter broadcasts, to the
 * local members and, through Redis, to the other nodes. When it does not, no socket of this node can be
 * a member; a detached `Namespace` (never registered in `io._nsps` nor in the parent's children, so no
 * client can ever connect to it and no middleware is bypassed) lends its adapter for this one broadcast
 * and is closed at once. With the Redis adapter that broadcast is published on the namespace's channel,
 * which every node with the namespace listens to; with the in-memory adapter (one node) it reaches no
 * one, rightly. Creating and closing it costs one PSUBSCRIBE/SUBSCRIBE and their UNSUBSCRIBEs on the
 * subscriber connection, all sent in order in the same tick.
 *
 * Private rooms stay out of reach as for `room:publish`: the broadcast excludes `selfRoom(room)`.
 */
import type { BroadcastMeta } from "@mailroom/protocol";
import { Namespace } from "socket.io";
import { selfRoom } from "../../delivery/private-rooms.js";
import type { MailroomServer } from "../../socket-types.js";

export function broadcastToRoom(
  io: MailroomServer,
  namespace: string,
  event: string,
  data: unknown,
  meta: BroadcastMeta,
) {
  const existing = io._nsps.get(namespace);
  if (existing) {
    existing.to(meta.room).except(selfRoom(meta.room)).emit(event, data, meta);
    return;
  }
  const detached = new Namespace(io, namespace);
  try {
    detached.to(meta.room).except(selfRoom(meta.room)).emit(event, data, meta);
  } finally {
    detached.adapter.close();
  }
}
