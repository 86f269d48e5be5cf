/**
 * A Redis queue engine built in-process from its parts, as engines/redis/redis-store.ts builds it
 * (connections, keys, scripts, the queue registry), on a deployment of the test's, under a fresh key
 * prefix unless given one: the engine conformance suite and the push delivery tests use it.
 */
import { once } from "node:events";
import { pino } from "pino";
import type { QueueAddress } from "../../packages/server/src/engines/queue-engine.js";
import { RedisConnections } from "../../packages/server/src/engines/redis/connections.js";
import { RedisKeys } from "../../packages/server/src/engines/redis/keys.js";
import { RedisQueueEngine } from "../../packages/server/src/engines/redis/redis-queue-engine.js";
import { RedisQueueRegistry } from "../../packages/server/src/engines/redis/redis-queue-registry.js";
import { ReplicaWait } from "../../packages/server/src/engines/redis/replica-wait.js";
import { Scripts } from "../../packages/server/src/engines/redis/scripts.js";
import { onCleanup } from "./cleanup.js";
import { freshPrefix } from "./redis.js";
import { type RedisDeployment, startDeployment } from "./redis-deployments.js";

const COMMAND_TIMEOUT_MS = 2000;

export interface EngineOnRedis {
  engine: RedisQueueEngine;
  connections: RedisConnections;
  keys: RedisKeys;
  scripts: Scripts;
  close(): Promise<void>;
}

export interface EngineOptions {
  dedupWindowMs: number;
  /** @default "n1" */
  nodeId?: string;
  /** @default a fresh one */
  prefix?: string;
  /** @default the engine's */
  ackLingerMs?: number;
}

/** A started engine on `deployment`, its subscriber and command connections ready. */
export async function startRedisEngine(deployment: RedisDeployment, options: EngineOptions): Promise<EngineOnRedis> {
  const logger = pino({ level: "silent" });
  const connections = new RedisConnections({
    mode: deployment.kind,
    url: deployment.url,
    sentinelMaster: deployment.sentinelMaster,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    logger,
  });
  const keys = new RedisKeys(options.prefix ?? freshPrefix(), connections.sharded);
  const scripts = new Scripts(connections.command, keys);
  const engine = new RedisQueueEngine({
    nodeId: options.nodeId ?? "n1",
    connections,
    scripts,
    keys,
    dedupWindowMs: options.dedupWindowMs,
    logger,
    queueRegistry: new RedisQueueRegistry(scripts, connections.command, keys),
    replicaWait: new ReplicaWait(connections.command, 0, COMMAND_TIMEOUT_MS),
    legacyDueIndex: () => false,
    ...(options.ackLingerMs === undefined ? {} : { ackLingerMs: options.ackLingerMs }),
  });
  const ready = Promise.all([once(connections.command, "ready"), once(connections.subscriber, "ready")]);
  connections.connect();
  await ready;
  await engine.start();
  return {
    engine,
    connections,
    keys,
    scripts,
    async close() {
      await engine.close();
      await connections.close();
    },
  };
}

/** An engine on a single Redis of the test's own, closed when the test ends; `url` reaches that Redis. */
export async function startEngineOnOwnRedis(options: EngineOptions): Promise<EngineOnRedis & { url: string }> {
  const deployment = await startDeployment("standalone");
  const redis = await startRedisEngine(deployment, options);
  onCleanup(() => redis.close());
  return { ...redis, url: deployment.url };
}

/**
 * A key of the queue's own beside its ready list, e.g. "group-priorities" (queue-lanes.lua names them so):
 * for tests that look at what the scripts keep.
 */
export function queueSiblingKey(keys: RedisKeys, address: QueueAddress, name: string): string {
  const [readyKey = ""] = keys.queueScriptKeys(address.namespace, address.queue);
  return `${readyKey.replace(/:ready$/, "")}:${name}`;
}
