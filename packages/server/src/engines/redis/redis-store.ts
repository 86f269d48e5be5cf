/**
 * The store of a cluster node on Redis (one server, Sentinel's master or a Redis Cluster: redis-clients.ts):
 * two connections, the Socket.IO Redis adapter over them (classic, or sharded pub/sub), and the Redis
 * registry. Warns at start when Redis may evict keys, since an evicting Redis can drop messages, watches
 * the cluster's epoch to notice a Redis that lost its data (`/readyz` then says so in `dataLoss`), reads
 * the data's layout version (layout.ts), and builds the queue registry once from the queues made before it
 * (queue-registry-migration.ts). The dashboard's rate samples live there too (redis-rate-samples.ts).
 */
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { FastifyBaseLogger } from "fastify";
import type { AdapterKind, RedisMode } from "../../config.js";
import type { MailroomServer } from "../../socket-types.js";
import type { LocalNode, NodeStore } from "../node-store.js";
import type { QueueOutcomes } from "../queue-engine.js";
import { DEFAULT_RATE_SAMPLING, type RateSamplingSettings } from "../rate-samples.js";
import type { RoomHistorySettings } from "../room-history.js";
import { RedisConnections } from "./connections.js";
import { RedisEpoch } from "./epoch.js";
import { RedisKeys } from "./keys.js";
import { RedisLayout } from "./layout.js";
import { QueueRegistryMigration } from "./queue-registry-migration.js";
import { RedisRegistry } from "./redis-cluster-registry.js";
import { RedisQueueEngine } from "./redis-queue-engine.js";
import { RedisQueueRegistry } from "./redis-queue-registry.js";
import { RedisRateSamples } from "./redis-rate-samples.js";
import { RedisRoomHistory } from "./redis-room-history.js";
import { ReplicaWait } from "./replica-wait.js";
import { Scripts, type ScriptTiming } from "./scripts.js";

/** How long `/readyz` waits for its probe message to come back through the subscriber. */
const READINESS_PROBE_TIMEOUT_MS = 1000;

export interface RedisStoreOptions {
  mode: RedisMode;
  /** One URL, or a comma-separated list of cluster seeds or Sentinels. */
  url: string;
  sentinelMaster: string;
  prefix: string;
  adapter: AdapterKind;
  adapterKey: string;
  commandTimeoutMs: number;
  /** Replicas that must hold a send, ack or nack before it is answered (0: none). */
  waitReplicas: number;
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  dedupWindowMs: number;
  /** Rooms' histories: how many publications each keeps, and for how long. */
  history: RoomHistorySettings;
  /** The dashboard's rate samples. @default DEFAULT_RATE_SAMPLING (10 s, kept 15 minutes) */
  rateSampling?: RateSamplingSettings;
  node: LocalNode;
  logger: FastifyBaseLogger;
  /** Told of messages dead-lettered or expired by this node's calls. @default nobody */
  outcomes?: QueueOutcomes;
  /** Told how long each script call took. @default nobody */
  scriptTiming?: ScriptTiming;
}

export function createRedisStore(options: RedisStoreOptions): NodeStore {
  const { mode, url, sentinelMaster, prefix, adapterKey, commandTimeoutMs, node, logger } = options;
  const connections = new RedisConnections({ mode, url, sentinelMaster, commandTimeoutMs, logger });
  const keys = new RedisKeys(prefix, connections.sharded);
  const scripts = new Scripts(connections.command, keys, options.scriptTiming);
  const layout = new RedisLayout({
    redis: connections.command,
    keys,
    logger,
    mayHoldLayout1: mode !== "cluster",
    scripts,
    nodeTimeoutMs: options.nodeTimeoutMs,
  });
  const registry = new RedisRegistry({
    redis: connections.command,
    scripts,
    keys,
    node,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    nodeTimeoutMs: options.nodeTimeoutMs,
    logger,
  });

  const queueRegistry = new RedisQueueRegistry(scripts, connections.command, keys);
  const rateSamples = new RedisRateSamples(scripts, options.rateSampling ?? DEFAULT_RATE_SAMPLING);
  const queues = new RedisQueueEngine({
    nodeId: node.id,
    connections,
    scripts,
    keys,
    dedupWindowMs: options.dedupWindowMs,
    logger: logger.child({ part: "queues" }),
    queueRegistry,
    outcomes: options.outcomes,
    replicaWait: new ReplicaWait(connections.command, options.waitReplicas, commandTimeoutMs),
    legacyDueIndex: () => layout.legacyDueIndex(),
    allowsGroups: () => layout.allowsGroups(),
    active: (address) => rateSamples.noteActive(address),
  });
  const history = new RedisRoomHistory({
    connections,
    scripts,
    keys,
    settings: options.history,
    subscribeTimeoutMs: commandTimeoutMs,
  });
  const migration = new QueueRegistryMigration({
    redis: connections.command,
    keys,
    queueRegistry,
    nodeId: node.id,
    logger: logger.child({ part: "queue-registry" }),
    // A Redis Cluster never held queues without the registry (no release before it ran on one), and SCAN
    // would have to visit every master.
    needed: mode !== "cluster",
  });

  const epoch = new RedisEpoch({
    redis: connections.command,
    key: keys.epoch(),
    intervalMs: options.heartbeatIntervalMs,
    logger,
  });

  let evictionChecked = false;
  connections.onReady(() => {
    void layout.check();
    void epoch.check();
    void registry.heartbeatNow();
    if (evictionChecked) return;
    evictionChecked = true;
    void warnIfEvicting(connections, logger);
    if (options.adapter === "sharded" || mode === "cluster") void warnIfNoShardedPubSub(connections, logger);
  });

  return {
    engine: "redis",
    registry,
    queues,
    history,
    rateSamples,
    readiness: {
      problem: async () => {
        const layoutProblem = layout.problem();
        if (layoutProblem !== undefined) return layoutProblem;
        if (!(await connections.probe(READINESS_PROBE_TIMEOUT_MS))) {
          return "Redis is unreachable, or this node's subscription does not receive";
        }
        if (!registry.isRegistered()) return "this node's heartbeat has not reached Redis yet";
        return undefined;
      },
      notices: () => {
        const dataLoss = epoch.dataLoss();
        return dataLoss.detected > 0 ? { dataLoss } : {};
      },
    },
    dataLoss: () => epoch.dataLoss(),
    memoryUse: () => memoryUse(connections),
    broadcastsFlow: () => connections.command.status === "ready",
    attach(io: MailroomServer) {
      const publisher = connections.adapterPublisher();
      const subscriber = connections.adapterSubscriber();
      io.adapter(
        options.adapter === "sharded"
          ? createShardedAdapter(publisher, subscriber, { channelPrefix: adapterKey })
          : createAdapter(publisher, subscriber, { key: adapterKey }),
      );
    },
    async start() {
      connections.connect();
      layout.start();
      epoch.start();
      connections.listenForProbes(keys.probeChannel(node.id));
      await registry.start();
      await queues.start();
      migration.start();
    },
    async close() {
      layout.close();
      epoch.close();
      await migration.close();
      await queues.close();
      await connections.close();
    },
  };
}

/** `INFO memory` of the command connection's Redis (on a cluster, of the node it reaches first). */
async function memoryUse(
  connections: RedisConnections,
): Promise<{ usedBytes?: number; maxBytes?: number } | undefined> {
  try {
    const info = await connections.command.info("memory");
    const field = (name: string) => new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1];
    const used = field("used_memory");
    const max = field("maxmemory");
    const use: { usedBytes?: number; maxBytes?: number } = {};
    if (used !== undefined) use.usedBytes = Number(used);
    if (max !== undefined && Number(max) > 0) use.maxBytes = Number(max);
    return use;
  } catch {
    return undefined;
  }
}

/** Sharded pub/sub (SPUBLISH, SSUBSCRIBE) came with Redis 7: an older one never lets the node be ready. */
async function warnIfNoShardedPubSub(connections: RedisConnections, logger: FastifyBaseLogger): Promise<void> {
  try {
    const info = await connections.command.info("server");
    const version = /redis_version:(\d+)/.exec(info)?.[1];
    if (version !== undefined && Number(version) < 7) {
      logger.error(
        { redisVersion: version },
        "Redis is older than 7, which has no sharded pub/sub: the sharded adapter and cluster mode need Redis 7 or newer",
      );
    }
  } catch (error) {
    logger.debug({ err: error }, "could not read Redis's version");
  }
}

async function warnIfEvicting(connections: RedisConnections, logger: FastifyBaseLogger): Promise<void> {
  try {
    const reply = (await connections.command.config("GET", "maxmemory-policy")) as string[];
    const policy = reply[1];
    if (policy !== undefined && policy !== "noeviction") {
      logger.warn(
        { maxmemoryPolicy: policy },
        `REDIS MAY EVICT KEYS: maxmemory-policy is ${policy}, so Redis can silently drop queued messages. ` +
          "Set maxmemory-policy noeviction.",
      );
    }
  } catch (error) {
    logger.warn(
      { err: error },
      "could not read Redis's maxmemory-policy (CONFIG GET refused?): make sure it is noeviction",
    );
  }
}
