/** A queue's stats as `queue:stats` and the HTTP stats routes answer them: the store's counts and the cluster's consumers. */
import type { QueueStats } from "@mailroom/protocol";
import type { ClusterRegistry } from "../engines/cluster-registry.js";
import type { QueueAddress, QueueEngine } from "../engines/queue-engine.js";

export async function queueStats(
  engine: QueueEngine,
  registry: ClusterRegistry,
  address: QueueAddress,
): Promise<QueueStats> {
  const [stats, consumers] = await Promise.all([
    engine.stats(address),
    registry.queueConsumers(address.namespace, address.queue),
  ]);
  const { ready, inflight, delayed, deadLettered, groups } = stats;
  return { ready, inflight, delayed, deadLettered, consumers, groups };
}
