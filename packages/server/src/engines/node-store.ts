/**
 * What a node takes from its store, as one bundle: the cluster registry, queues, rooms' histories, the
 * dashboard's rate samples, readiness, and the Socket.IO
 * adapter that carries broadcasts between nodes. Two implementations: Redis (a cluster of nodes) and
 * memory (one node, nothing durable). Handlers see only the interfaces inside, never a Redis client.
 */
import type { MailroomServer } from "../socket-types.js";
import type { ClusterRegistry, LocalNode } from "./cluster-registry.js";
import type { QueueEngine } from "./queue-engine.js";
import type { RateSamples } from "./rate-samples.js";
import type { RoomHistory } from "./room-history.js";

/** Whether the store works end to end, for `/readyz`. */
export interface Readiness {
  /** Undefined when ready; otherwise why not. */
  problem(): Promise<string | undefined>;
  /** Fields added to every `/readyz` body; none when there is nothing to tell. */
  notices?(): Record<string, unknown>;
}

/** How often a node found that the store had lost its data (Redis restarted empty: see redis/epoch.ts). */
export interface DataLossRecord {
  /** How many times this node found that Redis had lost its data; 0 when never. */
  detected: number;
  /** When it last found it (ms since the epoch), if ever. */
  lastDetectedAt?: number;
}

export interface NodeStore {
  /** "redis" or "memory", for logs and `/v1/cluster`. */
  readonly engine: "redis" | "memory";
  readonly registry: ClusterRegistry;
  readonly queues: QueueEngine;
  /** Rooms' histories (docs/protocol.md §10), whether or not the node uses them. */
  readonly history: RoomHistory;
  /** The samples of the queues' running totals behind the dashboard's rates (docs/protocol.md §12). */
  readonly rateSamples: RateSamples;
  readonly readiness: Readiness;
  /** How often this node found that the store had lost its data (never, for memory: it starts empty). */
  dataLoss(): DataLossRecord;
  /** Redis's memory use and limit (bytes; no limit: undefined); undefined for memory or when unknown. */
  memoryUse(): Promise<{ usedBytes?: number; maxBytes?: number } | undefined>;
  /** Whether a broadcast published now can reach every node. */
  broadcastsFlow(): boolean;
  /** Installs the adapter that carries broadcasts between nodes (nothing for memory). */
  attach(io: MailroomServer): void;
  /** Connects and starts the registry's heartbeat; resolves even if the store is not up yet. */
  start(): Promise<void>;
  /** Closes the connections; the node closes the registry first, before its sockets go. */
  close(): Promise<void>;
}

export type { LocalNode };
