/** The queue conformance suite on the Redis engine: two node processes on one Redis. */
import { queueConformance } from "./conformance/queue-semantics.js";
import { type NodeHandle, startCluster } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";

queueConformance("redis", async () => {
  const redis = await startRedis();
  const nodes = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
  return nodes as [NodeHandle, NodeHandle];
});
