/**
 * The cluster registry: which nodes are alive and which sockets are in which room, across the cluster.
 *
 * Guarantees of every implementation:
 * - `members` answers from the registry's store alone, never by asking other nodes, so one slow or dead
 *   node cannot make it fail or hang (unlike the Redis adapter's `fetchSockets`).
 * - A node that stops heartbeating for `nodeTimeoutMs` (killed, frozen, cut off) is dead: its members
 *   stop counting at once, and a live node removes what it held.
 * - `join` and `leave` are idempotent; `join` fails with `UNAVAILABLE` when the store is unreachable; a socket's memberships are its own node's to write.
 * - The registry only lists rooms joined through `room:join`: never a socket's private room.
 * It does not deliver anything: broadcasts go through Socket.IO's adapter.
 */
import type { RoomMembersResult } from "@mailroom/protocol";

export interface Membership {
  namespace: string;
  room: string;
  socket: string;
  user?: string | undefined;
}

export interface NodeRecord {
  id: string;
  url: string;
  startedAt: number;
  connections: number;
  lastSeenAt: number;
  /** Connected sockets per namespace, as of its last heartbeat (docs/protocol.md §12). */
  namespaces: Record<string, number>;
  /** Whether it was draining at its last heartbeat (a node of an older release says nothing: false). */
  draining: boolean;
  /** Its event-loop delay over the interval before its last heartbeat (ms); undefined from older releases. */
  eventLoopLagMs?: number;
}

/** A room with members, and how many across the cluster. */
export interface RoomCount {
  namespace: string;
  room: string;
  members: number;
}

export interface ClusterRegistry {
  /** Registers this node and starts its heartbeat. */
  start(): Promise<void>;
  /** Stops the heartbeat and removes this node and its memberships. */
  close(): Promise<void>;
  join(membership: Membership): Promise<void>;
  /** Never fails: a leave that cannot reach the store now is retried until it does. */
  leave(membership: Membership): Promise<void>;
  /** The room's member count across the cluster, and up to `MAX_LISTED_MEMBERS` of them. */
  members(namespace: string, room: string): Promise<RoomMembersResult>;
  /** The live nodes. */
  nodes(): Promise<NodeRecord[]>;
  /** Rooms with members on live nodes, the most members first, at most `limit` (the dashboard's). */
  rooms(limit: number): Promise<RoomCount[]>;
  /** Records how many consumers of a queue this node holds now (0 removes it); never fails, retried. */
  setQueueConsumers(namespace: string, queue: string, count: number): Promise<void>;
  /** How many consumers the queue has on live nodes. */
  queueConsumers(namespace: string, queue: string): Promise<number>;
  /** How many consumers each of these queues of the namespace has on live nodes, in the same order. */
  queueConsumerCounts(namespace: string, queues: string[]): Promise<number[]>;
}

/** What a node tells the registry about itself at each heartbeat. */
export interface LocalNode {
  id: string;
  url: () => string;
  startedAt: number;
  connections: () => number;
  /** Connected sockets per namespace on this node (namespaces with none left out). */
  namespaceSockets: () => Record<string, number>;
  /** Whether the node is draining (SIGTERM), and its event-loop delay since the last heartbeat (ms). */
  health: () => { draining: boolean; eventLoopLagMs: number };
}
