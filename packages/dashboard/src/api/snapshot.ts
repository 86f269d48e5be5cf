/**
 * The node's one-second view of the cluster, `GET /v1/dashboard` (docs/protocol.md §12), as the page reads
 * it. `sent` and `acked` are cluster-wide running totals per queue: the page turns the difference between
 * two snapshots into rates (state/sample-history.ts). Fields the page does not read are left out.
 */
import { requestJson } from "./http.js";

export interface SnapshotNode {
  id: string;
  url: string;
  /** Epoch milliseconds. */
  startedAt: number;
  connections: number;
  /** Epoch milliseconds of its last heartbeat. */
  lastSeenAt: number;
  /** Whether this is the node that answered. */
  self: boolean;
  /** Whether it was draining (SIGTERM) at its last heartbeat. */
  draining?: boolean;
  /** Its event-loop delay before its last heartbeat (ms); absent from nodes of older releases. */
  eventLoopLagMs?: number;
}

export interface SnapshotStore {
  engine: "redis" | "memory";
  ready: boolean;
  /** Why the store is not ready, when it is not. */
  problem?: string;
  /** How many times the answering node found that Redis had lost data it had accepted; 0 when never. */
  dataLossDetected: number;
  usedMemoryBytes?: number;
  /** Redis's `maxmemory`; 0 or absent: no limit set. */
  maxMemoryBytes?: number;
}

export interface SnapshotNamespace {
  name: string;
  queues: number;
  sockets: number;
}

export interface SnapshotQueue {
  namespace: string;
  name: string;
  ready: number;
  inflight: number;
  delayed: number;
  deadLettered: number;
  consumers: number;
  groups: number;
  /** Messages sent to the queue since the cluster began counting (a running total). */
  sent: number;
  /** Messages acked from the queue since the cluster began counting (a running total). */
  acked: number;
  /** How long its oldest ready message has waited (ms): only for the worst queues with ready messages. */
  oldestReadyAgeMs?: number;
}

export interface SnapshotRoom {
  namespace: string;
  name: string;
  members: number;
}

export interface Snapshot {
  /** Epoch milliseconds at which the node took the snapshot. */
  at: number;
  /** The id of the node that answered. */
  node: string;
  nodes: SnapshotNode[];
  store: SnapshotStore;
  eventLoopLagMs: number;
  namespaces: SnapshotNamespace[];
  queues: SnapshotQueue[];
  rooms: SnapshotRoom[];
  /** Whether the node left queues or rooms out (there were more than it lists). */
  truncated: { queues: boolean; rooms: boolean };
}

export const SNAPSHOT_PATH = "/v1/dashboard";

export function fetchSnapshot(): Promise<Snapshot> {
  return requestJson<Snapshot>(SNAPSHOT_PATH);
}
