/**
 * The end of a chaos run: with the faults over and the surviving consumers still consuming, wait until
 * every accepted message is settled and the queue holds nothing (ready, in flight or delayed, by the
 * cluster's own `queue:stats`), then look in Redis itself for a lease or a message left behind. A drain
 * that times out returns what it saw; the figures and assertions then show what is missing.
 */
import { Redis } from "ioredis";
import { RedisKeys } from "../../packages/server/src/engines/redis/keys.js";
import { onCleanup } from "../helpers/cleanup.js";
import { deploymentClient, type RedisDeployment } from "../helpers/redis-deployments.js";
import { command, connectSocket } from "../helpers/sockets.js";
import type { History } from "./checker.js";

/** How often the drain looks. */
const POLL_MS = 200;

export interface QueueCounts {
  ready: number;
  inflight: number;
  delayed: number;
}

export interface DrainResult {
  /** How long the drain took, from its start. */
  drainMs: number;
  /** The cluster's stats at the end. */
  stats: QueueCounts;
}

/** Polls `queue:stats` through a node (or a balancer) at `url`. */
export async function statsReader(url: string, queue: string): Promise<() => Promise<QueueCounts>> {
  const socket = await connectSocket(url, "/", { reconnection: true, reconnectionDelay: 100 });
  return async () => {
    const reply = await command(socket, "queue:stats", { queue });
    if (!reply.ok) throw new Error(`queue:stats answered ${JSON.stringify(reply)}`);
    return { ready: reply.ready, inflight: reply.inflight, delayed: reply.delayed };
  };
}

export async function drain(options: {
  history: History;
  stats: () => Promise<QueueCounts>;
  timeoutMs: number;
}): Promise<DrainResult> {
  const { history, stats, timeoutMs } = options;
  const startedAt = Date.now();
  let last: QueueCounts = { ready: -1, inflight: -1, delayed: -1 };
  while (Date.now() - startedAt < timeoutMs) {
    try {
      last = await stats();
    } catch {
      // A node on its way up or down: look again.
    }
    const empty = last.ready === 0 && last.inflight === 0 && last.delayed === 0;
    if (empty && history.unsettledAccepted().length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { drainMs: Date.now() - startedAt, stats: last };
}

/**
 * What Redis itself holds for a queue: its ready list, its leases (the inflight set) and its delayed set.
 * `redis` is a standalone Redis's URL, or a deployment (read through a cluster or Sentinel client).
 */
export async function redisQueueCounts(
  redis: string | RedisDeployment,
  prefix: string,
  queue: string,
): Promise<QueueCounts> {
  const client = typeof redis === "string" ? new Redis(redis) : deploymentClient(redis);
  onCleanup(() => void client.disconnect());
  const [readyKey, , inflightKey, delayedKey] = new RedisKeys(prefix).queueScriptKeys("/", queue);
  const [ready, inflight, delayed] = await Promise.all([
    client.llen(readyKey as string),
    client.zcard(inflightKey as string),
    client.zcard(delayedKey as string),
  ]);
  client.disconnect();
  return { ready, inflight, delayed };
}
