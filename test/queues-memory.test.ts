/** The queue conformance suite on the memory engine: one node with no Redis, serving as both nodes. */
import { queueConformance } from "./conformance/queue-semantics.js";
import { startNode } from "./helpers/nodes.js";

queueConformance("memory", async () => {
  const node = await startNode();
  return [node, node];
});
