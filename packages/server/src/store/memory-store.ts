/**
 * The store of a single node with no Redis: Socket.IO's in-memory adapter and a memory registry.
 * Not durable across restarts, and one node only.
 */
import { MemoryRegistry } from "../cluster/memory-registry.js";
import type { LocalNode, NodeStore } from "./store.js";

export function createMemoryStore(node: LocalNode): NodeStore {
  const registry = new MemoryRegistry(node);
  return {
    engine: "memory",
    registry,
    readiness: { problem: async () => undefined },
    broadcastsFlow: () => true,
    attach: () => {},
    start: () => registry.start(),
    close: async () => {},
  };
}
