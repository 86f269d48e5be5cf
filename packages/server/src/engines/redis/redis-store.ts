/**
 * The store of a cluster node on Redis: two connections, the Socket.IO Redis adapter over them, and the
 * Redis registry. Warns at start when Redis may evict keys, since an evicting Redis can drop messages, and
 * watches the cluster's epoch to notice a Redis that lost its data (`/readyz` then says so in `dataLoss`),
 * and builds the queue registry once from the queues made before it (queue-registry-migration.ts).
 */
import { createAdapter } from "@socket.io/redis-adapter";
import type { FastifyBaseLogger } from "fastify";
import type { MailroomServer } from "../../socket-types.js";
import type { LocalNode, NodeStore } from "../node-store.js";
import type { QueueOutcomes } from "../queue-engine.js";
import { RedisConnections } from "./connections.js";
import { RedisEpoch } from "./epoch.js";
import { RedisKeys } from "./keys.js";
import { QueueRegistryMigration } from "./queue-registry-migration.js";
import { RedisRegistry } from "./redis-cluster-registry.js";
import { RedisQueueEngine } from "./redis-queue-engine.js";
import { RedisQueueRegistry } from "./redis-queue-registry.js";
import { Scripts, type ScriptTiming } from "./scripts.js";

/** How long `/readyz` waits for its probe message to come back through the subscriber. */
const READINESS_PROBE_TIMEOUT_MS = 1000;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  adapterKey: string;
  commandTimeoutMs: number;
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  dedupWindowMs: number;
  node: LocalNode;
  logger: FastifyBaseLogger;
  /** Told of messages dead-lettered or expired by this node's calls. @default nobody */
  outcomes?: QueueOutcomes;
  /** Told how long each script call took. @default nobody */
  scriptTiming?: ScriptTiming;
}

export function createRedisStore(options: RedisStoreOptions): NodeStore {
  const { url, prefix, adapterKey, commandTimeoutMs, node, logger } = options;
  const connections = new RedisConnections({ url, commandTimeoutMs, logger });
  const keys = new RedisKeys(prefix);
  const scripts = new Scripts(connections.command, keys, options.scriptTiming);
  const registry = new RedisRegistry({
    redis: connections.command,
    scripts,
    keys,
    node,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    nodeTimeoutMs: options.nodeTimeoutMs,
    logger,
  });

  const queueRegistry = new RedisQueueRegistry(scripts);
  const queues = new RedisQueueEngine({
    connections,
    scripts,
    keys,
    dedupWindowMs: options.dedupWindowMs,
    logger: logger.child({ part: "queues" }),
    queueRegistry,
    outcomes: options.outcomes,
  });
  const migration = new QueueRegistryMigration({
    redis: connections.command,
    keys,
    queueRegistry,
    nodeId: node.id,
    logger: logger.child({ part: "queue-registry" }),
  });

  const epoch = new RedisEpoch({
    redis: connections.command,
    key: keys.epoch(),
    intervalMs: options.heartbeatIntervalMs,
    logger,
  });

  let evictionChecked = false;
  connections.onReady(() => {
    void epoch.check();
    void registry.heartbeatNow();
    if (evictionChecked) return;
    evictionChecked = true;
    void warnIfEvicting(connections, logger);
  });

  return {
    engine: "redis",
    registry,
    queues,
    readiness: {
      problem: async () => {
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
    broadcastsFlow: () => connections.command.status === "ready",
    attach(io: MailroomServer) {
      io.adapter(createAdapter(connections.adapterPublisher(), connections.adapterSubscriber(), { key: adapterKey }));
    },
    async start() {
      connections.connect();
      epoch.start();
      connections.listenForProbes(keys.probeChannel(node.id));
      await registry.start();
      await queues.start();
      migration.start();
    },
    async close() {
      epoch.close();
      await migration.close();
      await queues.close();
      await connections.close();
    },
  };
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
