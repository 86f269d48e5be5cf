/**
 * The ioredis clients of a node for each Redis deployment (docs/protocol.md §14), set up for a broker:
 * - standalone: one server, from its URL;
 * - sentinel: the master that the Sentinels name (`failoverDetector` reconnects as soon as they switch);
 * - cluster: a Redis Cluster from seed URLs, writes and reads on masters only; the subscriber opens one
 *   sharded subscriber per master (`shardedSubscribers`: without it SSUBSCRIBE goes to one node and a
 *   channel of another slot is silently never heard).
 * The command client fails fast while Redis is away (no offline queue, a command timeout, no retry of a
 * command a disconnect caught), so callers answer `UNAVAILABLE` instead of hanging. While Redis hangs
 * (it holds the connection and answers nothing: stopped, swapping, a long script) the socket is destroyed
 * once nothing came back for a command timeout after a write (`socketTimeout`): every command in flight
 * fails then, and each one until Redis answers again fails at once, instead of each waiting out its own
 * timeout in turn. The subscriber queues and reconnects forever. The credentials of the first URL serve
 * every server of the list (and the Sentinels themselves in sentinel mode).
 *
 * No client auto-pipelines (`AUTO_PIPELINING`): the engines already make one script call per queue and
 * tick, and ioredis's pipelines kept each batch's objects alive past the young generation's collections.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisMode } from "../../config.js";
import "./ioredis-workarounds.js";
import { redisServer, redisTarget } from "./redis-url.js";

/** A client of any mode: both kinds run the same commands and scripts. */
export type RedisClient = Redis | Cluster;

/** Longest pause between two reconnection attempts: Redis that returns is noticed within it. */
const MAX_RECONNECT_DELAY_MS = 500;
/** How long a cluster node's connection may wait for a slot map refresh. */
const SLOTS_REFRESH_TIMEOUT_MS = 1000;
/** Pause before a command retries after MOVED/ASK during a failover, CLUSTERDOWN, or TRYAGAIN (migration). */
const CLUSTER_RETRY_DELAY_MS = 100;
/**
 * How often a cluster client reads the slot map again. Without it ioredis learns of a new master only from
 * a MOVED reply, which a subscriber never gets: after a graceful failover or a slot migration, Redis drops
 * the sharded subscriptions of the slots that moved (redis#12577), and the subscriber subscribes them again
 * on the new master only once it sees the new map.
 */
const SLOTS_REFRESH_INTERVAL_MS = 1000;
/**
 * Off. With ioredis's auto-pipelining (or any ioredis `Pipeline`) on the command client, every scavenge
 * of a node at a steady 2,000 msg/s promoted about 1 MB of dead command objects to the old generation:
 * scavenges of 3.5–6 ms instead of 1–2, and a mark-compact every few seconds, which made most of the
 * p99 latency (BENCHMARKS.md, "Collections that stopped a node"). Each command is written to the socket
 * at once instead, in a write of its own.
 */
const AUTO_PIPELINING = false;

export interface RedisClientsOptions {
  mode: RedisMode;
  /** One URL (standalone), or a comma-separated list of seeds (cluster) or Sentinels (sentinel). */
  url: string;
  sentinelMaster: string;
  commandTimeoutMs: number;
}

export interface RedisClients {
  command: RedisClient;
  subscriber: RedisClient;
  /** Where the clients point, for logs: `host:port` of each server of the list (never a password). */
  targets: string[];
}

const retryStrategy = (attempt: number) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS);

export function createRedisClients(options: RedisClientsOptions): RedisClients {
  const urls = options.url.split(",").map((url) => url.trim());
  const servers = urls.map(redisServer);
  const targets = urls.map(redisTarget);
  const commandOptions: RedisOptions = {
    commandTimeout: options.commandTimeoutMs,
    socketTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectionName: "mailroom-command",
  };
  const subscriberOptions: RedisOptions = { maxRetriesPerRequest: null, connectionName: "mailroom-subscriber" };

  if (options.mode === "cluster") {
    const shared = credentials(urls[0] ?? "");
    const cluster = (redisOptions: RedisOptions, extra: ClusterOptions) =>
      new Cluster(
        servers.map(({ host, port }) => ({ host, port })),
        {
          scaleReads: "master",
          clusterRetryStrategy: retryStrategy,
          slotsRefreshTimeout: SLOTS_REFRESH_TIMEOUT_MS,
          slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
          retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
          retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
          retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
          lazyConnect: true,
          redisOptions: { ...shared, ...redisOptions },
          ...extra,
        },
      );
    return {
      command: cluster(commandOptions, { enableOfflineQueue: false, enableAutoPipelining: AUTO_PIPELINING }),
      subscriber: cluster(subscriberOptions, { enableOfflineQueue: true, shardedSubscribers: true }),
      targets,
    };
  }

  if (options.mode === "sentinel") {
    const { username, password, tls } = credentials(urls[0] ?? "");
    const sentinel = (redisOptions: RedisOptions): Redis =>
      new Redis({
        sentinels: servers.map(({ host, port }) => ({ host, port })),
        name: options.sentinelMaster,
        role: "master",
        username,
        password,
        sentinelUsername: username,
        sentinelPassword: password,
        enableTLSForSentinelMode: tls !== undefined,
        tls,
        failoverDetector: true,
        retryStrategy,
        sentinelRetryStrategy: retryStrategy,
        lazyConnect: true,
        ...redisOptions,
      });
    return {
      command: sentinel({ ...commandOptions, enableOfflineQueue: false, enableAutoPipelining: AUTO_PIPELINING }),
      subscriber: sentinel({ ...subscriberOptions, enableOfflineQueue: true }),
      targets,
    };
  }

  const url = urls[0] ?? "";
  return {
    command: new Redis(url, {
      ...commandOptions,
      enableOfflineQueue: false,
      enableAutoPipelining: AUTO_PIPELINING,
      retryStrategy,
      lazyConnect: true,
    }),
    subscriber: new Redis(url, { ...subscriberOptions, enableOfflineQueue: true, retryStrategy, lazyConnect: true }),
    targets,
  };
}

/** Whether a client is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The user, password and TLS (for rediss://) a URL carries, as ioredis takes them. */
function credentials(url: string): Pick<RedisOptions, "username" | "password" | "tls"> {
  const parsed = new URL(url);
  return {
    username: parsed.username === "" ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === "" ? undefined : decodeURIComponent(parsed.password),
    tls: parsed.protocol === "rediss:" ? {} : undefined,
  };
}
