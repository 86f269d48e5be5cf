/** The cluster registry conformance suite on the memory registry: a single node's own memberships. */
import { MemoryRegistry } from "../packages/server/src/engines/memory/memory-cluster-registry.js";
import { clusterRegistrySuite } from "./conformance/cluster-registry-suite.js";

clusterRegistrySuite("memory", async (node) => {
  const registry = new MemoryRegistry(node);
  await registry.start();
  return { registry, cleanup: () => registry.close() };
});
