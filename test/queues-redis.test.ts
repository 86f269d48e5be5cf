/**
 * The queue conformance suite on the Redis engine: two node processes on one Redis, and with
 * `npm run test:deployments` on a Redis Cluster and on Sentinel too (docs/protocol.md §14; the cluster and
 * the Sentinel set are shared by the file's tests, each test under a fresh key prefix).
 */
import { describe } from "vitest";
import { queueConformance } from "./conformance/queue-semantics.js";
import { type NodeHandle, startCluster } from "./helpers/nodes.js";
import { nodeOptionsOn, SUITE_DEPLOYMENTS, sharedDeployment } from "./helpers/redis-deployments.js";

for (const kind of SUITE_DEPLOYMENTS) {
  describe(`on Redis in ${kind} mode`, () => {
    const deployment = sharedDeployment(kind);
    queueConformance(kind === "standalone" ? "redis" : `redis ${kind}`, async () => {
      const nodes = await startCluster(2, nodeOptionsOn(await deployment()));
      return nodes as [NodeHandle, NodeHandle];
    });
  });
}
