/**
 * The Redis deployments of docs/protocol.md §14 as the suites see them, so that one suite runs against
 * each, as socket.io-redis-adapter runs one suite against several backends: `standalone` (one
 * `redis-server`), `cluster` (3 masters + 3 replicas, redis-cluster.ts) and `sentinel` (a master, a replica
 * and 3 Sentinels, redis-sentinel.ts). A cluster or a Sentinel set takes seconds to start, so
 * `sharedDeployment` starts one per `describe` block (before its first test, stopped after its last); the
 * tests keep apart through fresh key prefixes. A standalone Redis is cheap, and one is started per test.
 */
import type { RedisMode } from "@mailroom/server";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { onCleanup } from "./cleanup.js";
import { freshPrefix, startRedis } from "./redis.js";
import { type RedisCluster, startRedisCluster } from "./redis-cluster.js";
import { type RedisSentinelDeployment, startRedisSentinel } from "./redis-sentinel.js";

export type DeploymentKind = RedisMode;

/** `npm run test:deployments` (MAILROOM_TEST_DEPLOYMENTS=all): every suite on every deployment. */
export const ALL_DEPLOYMENTS = process.env.MAILROOM_TEST_DEPLOYMENTS === "all";

/**
 * The deployments the suites that are not about deployments run on: the engine conformance suite and the
 * node-level room and queue suites. `npm test` keeps them to one Redis, for its time budget, and proves
 * the other deployments with redis-deployments.test.ts (every capability on a cluster and on Sentinel, the
 * cluster's traps) and the quick deployment chaos; `npm run test:deployments` runs them on a Redis Cluster
 * and on Sentinel too.
 */
export const SUITE_DEPLOYMENTS: readonly DeploymentKind[] = ALL_DEPLOYMENTS
  ? ["standalone", "cluster", "sentinel"]
  : ["standalone"];

export interface RedisDeployment {
  readonly kind: DeploymentKind;
  /** The `--redis` value (`redisUrl`): one URL, or a list of seeds or Sentinels. */
  readonly url: string;
  /** The Sentinels' name for the master (sentinel only). */
  readonly sentinelMaster: string;
  /** The flags of `mailroom serve` besides `--redis`: the mode, and the master's name for Sentinel. */
  readonly args: readonly string[];
  /** The cluster, for tests that act on its nodes (cluster only). */
  readonly cluster?: RedisCluster;
  /** The Sentinel set, for tests that fail its master over (sentinel only). */
  readonly sentinel?: RedisSentinelDeployment;
}

const SENTINEL_MASTER = "mymaster";

/** How a deployment is shaped, where a test needs other than the defaults of its helper. */
export interface DeploymentOptions {
  /** Replicas of the Sentinel master (sentinel only). @default 1 */
  sentinelReplicas?: number;
}

/** Starts a deployment of `kind` for the current test (stopped after it). */
export async function startDeployment(
  kind: DeploymentKind,
  lifetime: "test" | "caller" = "test",
  options: DeploymentOptions = {},
): Promise<RedisDeployment> {
  if (kind === "cluster") {
    const cluster = await startRedisCluster({ stopAfterTest: lifetime === "test" });
    return { kind, url: cluster.seedUrls.join(","), sentinelMaster: SENTINEL_MASTER, args: modeArgs(kind), cluster };
  }
  if (kind === "sentinel") {
    const sentinel = await startRedisSentinel({
      masterName: SENTINEL_MASTER,
      replicas: options.sentinelReplicas,
      stopAfterTest: lifetime === "test",
    });
    return {
      kind,
      url: sentinel.sentinelUrls.join(","),
      sentinelMaster: SENTINEL_MASTER,
      args: modeArgs(kind),
      sentinel,
    };
  }
  const redis = await startRedis();
  return { kind, url: redis.url, sentinelMaster: SENTINEL_MASTER, args: modeArgs(kind) };
}

/**
 * A deployment for every test of the enclosing `describe`: a cluster or a Sentinel set is started once
 * (before the first test) and stopped after the last; a standalone Redis is started per call. Call the
 * returned function inside a test.
 */
export function sharedDeployment(kind: DeploymentKind): () => Promise<RedisDeployment> {
  if (kind === "standalone") return () => startDeployment(kind);
  let shared: RedisDeployment | undefined;
  beforeAll(async () => {
    shared = await startDeployment(kind, "caller");
  }, 120_000);
  afterAll(async () => {
    await (shared?.cluster ?? shared?.sentinel)?.stop();
  });
  return async () => {
    if (!shared) throw new Error(`the shared ${kind} deployment did not start`);
    return shared;
  };
}

/** What `startNode` takes to run a node on `deployment` under a fresh prefix. */
export function nodeOptionsOn(deployment: RedisDeployment, prefix = freshPrefix()) {
  return { redisUrl: deployment.url, prefix, args: [...deployment.args] };
}

/**
 * An ioredis client of `deployment` as an application would open one (a cluster client on the seeds, a
 * Sentinel client asking for the master, or a plain client), closed after the test: for reading what
 * Redis holds.
 */
export function deploymentClient(deployment: RedisDeployment): Redis | Cluster {
  const client = (() => {
    if (deployment.cluster) return new Cluster([...deployment.cluster.seedUrls]);
    if (deployment.sentinel) {
      return new Redis({ sentinels: [...deployment.sentinel.sentinelAddresses], name: deployment.sentinelMaster });
    }
    return new Redis(deployment.url);
  })();
  onCleanup(() => void client.disconnect());
  return client;
}

function modeArgs(kind: DeploymentKind): string[] {
  if (kind === "sentinel") return ["--redis-mode", kind, "--redis-sentinel-master", SENTINEL_MASTER];
  return ["--redis-mode", kind];
}
