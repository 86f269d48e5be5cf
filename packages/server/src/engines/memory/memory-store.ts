/**
 * The store of a single node with no Redis: Socket.IO's in-memory adapter and a memory registry.
 * Not durable across restarts, and one node only.
 */

import type { LocalNode, NodeStore } from "../node-store.js";
import type { QueueOutcomes } from "../queue-engine.js";
import { DEFAULT_RATE_SAMPLING, type RateSamplingSettings } from "../rate-samples.js";
import type { RoomHistorySettings } from "../room-history.js";
import { MemoryRegistry } from "./memory-cluster-registry.js";
import { MemoryQueueEngine } from "./memory-queue-engine.js";
import { MemoryRateSamples } from "./memory-rate-samples.js";
import { MemoryRoomHistory } from "./memory-room-history.js";

export function createMemoryStore(
  node: LocalNode,
  options: {
    dedupWindowMs: number;
    history: RoomHistorySettings;
    outcomes?: QueueOutcomes;
    /** The dashboard's rate samples. @default DEFAULT_RATE_SAMPLING (10 s, kept 15 minutes) */
    rateSampling?: RateSamplingSettings;
  },
): NodeStore {
  const registry = new MemoryRegistry(node);
  const queues = new MemoryQueueEngine({ dedupWindowMs: options.dedupWindowMs, outcomes: options.outcomes });
  return {
    engine: "memory",
    registry,
    queues,
    history: new MemoryRoomHistory(options.history),
    rateSamples: new MemoryRateSamples(options.rateSampling ?? DEFAULT_RATE_SAMPLING),
    readiness: { problem: async () => undefined },
    dataLoss: () => ({ detected: 0 }),
    memoryUse: async () => undefined,
    broadcastsFlow: () => true,
    attach: () => {},
    start: async () => {
      await registry.start();
      await queues.start();
    },
    close: () => queues.close(),
  };
}
