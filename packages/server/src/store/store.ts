/**
 * What a node takes from its store, as one bundle: the cluster registry, readiness, and the Socket.IO
 * adapter that carries broadcasts between nodes. Two implementations: Redis (a cluster of nodes) and
 * memory (one node, nothing durable). Handlers see only the interfaces inside, never a Redis client.
 */
import type { Server } from "socket.io";
import type { ClusterRegistry, LocalNode } from "../cluster/registry.js";
import type { Readiness } from "../http/health-routes.js";
import type { QueueEngine } from "../queues/queue-engine.js";
import type { DataLossRecord } from "../redis/epoch.js";

export interface NodeStore {
  /** "redis" or "memory", for logs and `/v1/cluster`. */
  readonly engine: "redis" | "memory";
  readonly registry: ClusterRegistry;
  readonly queues: QueueEngine;
  readonly readiness: Readiness;
  /** How often this node found that the store had lost its data (never, for memory: it starts empty). */
  dataLoss(): DataLossRecord;
  /** Whether a broadcast published now can reach every node. */
  broadcastsFlow(): boolean;
  /** Installs the adapter that carries broadcasts between nodes (nothing for memory). */
  attach(io: Server): void;
  /** Connects and starts the registry's heartbeat; resolves even if the store is not up yet. */
  start(): Promise<void>;
  /** Closes the connections; the node closes the registry first, before its sockets go. */
  close(): Promise<void>;
}

export type { DataLossRecord, LocalNode };
