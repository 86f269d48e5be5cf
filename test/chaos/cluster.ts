/**
 * The system under test of a chaos scenario: a private Redis (optionally with an append-only file), or a
 * Redis deployment of docs/protocol.md §14 (a cluster, a Sentinel set), `count` real node processes on it
 * with a fresh key prefix, and a TCP balancer in front of them, as a deployment would have. Also the
 * figure every scenario reports about redelivery: for each message delivered more than once, the time
 * between one delivery and the next.
 */
import { startBalancer } from "../helpers/balancer.js";
import { type NodeHandle, type NodeOptions, startCluster } from "../helpers/nodes.js";
import { freshPrefix, type RedisOptions, startRedis } from "../helpers/redis.js";
import { nodeOptionsOn, type RedisDeployment } from "../helpers/redis-deployments.js";
import { type History, percentile } from "./checker.js";

type ChaosNodeOptions = Omit<NodeOptions, "redisUrl" | "prefix">;

/** Nodes on one standalone Redis of the scenario's own. */
export async function startChaosCluster(
  count: number,
  options: { redis?: RedisOptions; node?: ChaosNodeOptions } = {},
) {
  const redis = await startRedis(options.redis);
  return { redis, ...(await startNodesBehindBalancer(count, { ...options.node, redisUrl: redis.url })) };
}

/**
 * Nodes on `deployment` (started by the caller, which acts on its servers): each runs with the
 * deployment's `--redis-mode` flags, then the extra `args` of `options.node`.
 */
export async function startChaosClusterOn(
  deployment: RedisDeployment,
  count: number,
  options: { node?: ChaosNodeOptions } = {},
) {
  const { redisUrl, args } = nodeOptionsOn(deployment);
  const node = { ...options.node, redisUrl, args: [...args, ...(options.node?.args ?? [])] };
  return { deployment, ...(await startNodesBehindBalancer(count, node)) };
}

async function startNodesBehindBalancer(count: number, options: Omit<NodeOptions, "prefix">) {
  const prefix = freshPrefix();
  const nodes = await startCluster(count, { ...options, prefix });
  const balancer = await startBalancer(nodes.map((node) => node.port));
  return { prefix, nodes, balancer };
}

/** Redelivery gaps (ms between consecutive deliveries of one message): their count, p50 and max. */
export function redeliveryFigures(history: History): {
  redelivered: number;
  redeliverP50Ms: number;
  redeliverMaxMs: number;
} {
  const gaps: number[] = [];
  const byId = new Map<string, number[]>();
  for (const delivery of history.allDeliveries()) {
    const times = byId.get(delivery.id) ?? [];
    times.push(delivery.at);
    byId.set(delivery.id, times);
  }
  for (const times of byId.values()) {
    times.sort((a, b) => a - b);
    for (let index = 1; index < times.length; index += 1)
      gaps.push((times[index] as number) - (times[index - 1] as number));
  }
  return {
    redelivered: gaps.length,
    redeliverP50Ms: gaps.length > 0 ? percentile(gaps, 0.5) : 0,
    redeliverMaxMs: gaps.length > 0 ? percentile(gaps, 1) : 0,
  };
}

/**
 * Polls a node's `/readyz` until stopped; resolves with each answer's status (0 for a refused request)
 * and when the request was made.
 */
export function watchReadiness(
  node: NodeHandle,
  intervalMs = 50,
): { stop(): Promise<{ at: number; status: number }[]> } {
  let watching = true;
  const statuses: { at: number; status: number }[] = [];
  const loop = (async () => {
    while (watching) {
      const at = Date.now();
      const status = await fetch(`${node.url}/readyz`).then(
        (response) => response.status,
        () => 0,
      );
      statuses.push({ at, status });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return statuses;
    },
  };
}
