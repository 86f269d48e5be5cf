/**
 * The Redis Cluster and Sentinel test helpers work against real processes, with ioredis as the client:
 * a cluster of 3 masters and 3 replicas serves keys of every master and moves a slot under writes without
 * losing a key; SIGKILL of a key's master promotes its replica, which still holds what WAIT confirmed, and
 * the killed master rejoins as a replica after a restart; SIGKILL of a Sentinel master promotes the replica
 * and an ioredis Sentinel client carries on against it.
 */
import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { freshPrefix } from "./helpers/redis.js";
import { type ClusterNode, type RedisCluster, startRedisCluster } from "./helpers/redis-cluster.js";
import { infoField } from "./helpers/redis-processes.js";
import { startRedisSentinel } from "./helpers/redis-sentinel.js";
import { waitFor } from "./helpers/wait.js";

/** The brief's bound on a replica taking over from a killed master (node timeout 1 s, election ~1 s). */
const PROMOTED_WITHIN_MS = 10_000;
/** WAIT for one replica, at most this long. */
const REPLICATED_WITHIN_MS = 1000;
/** Keys written before a slot moves, and at least as many while it moves. */
const KEYS_PER_MOVE_PHASE = 300;

function clusterClient(cluster: RedisCluster): Cluster {
  const client = new Cluster([...cluster.seedUrls]);
  client.on("error", () => {});
  onCleanup(() => client.disconnect());
  return client;
}

/** The client's own connection to `node`: WAIT counts the writes sent over the connection it is sent on. */
function connectionTo(client: Cluster, node: ClusterNode): Redis {
  const connection = client.nodes("master").find((candidate) => candidate.options.port === node.port);
  if (!connection) throw new Error(`the client has no connection to master ${node.port}`);
  return connection;
}

/** Keys of `prefix`, one per master, each on a different slot. */
async function oneKeyPerMaster(cluster: RedisCluster, prefix: string): Promise<Map<ClusterNode, string>> {
  const masters = await cluster.mastersNow();
  const keys = new Map<ClusterNode, string>();
  for (let index = 0; keys.size < masters.length; index++) {
    const key = `${prefix}:${index}`;
    const master = await cluster.masterFor(key);
    if (!keys.has(master)) keys.set(master, key);
  }
  return keys;
}

describe("startRedisCluster", () => {
  it("creates 3 masters with a replica each that serve keys of different slots", async () => {
    const cluster = await startRedisCluster();
    const masters = await cluster.mastersNow();
    expect(masters).toHaveLength(3);
    for (const master of masters) {
      expect(await master.role()).toBe("master");
      expect(await (await cluster.replicaOf(master)).role()).toBe("replica");
    }
    const keys = await oneKeyPerMaster(cluster, freshPrefix());
    const slots = await Promise.all([...keys.values()].map((key) => cluster.slotOf(key)));
    expect(new Set(slots).size).toBe(3);

    const client = clusterClient(cluster);
    for (const key of keys.values()) await client.set(key, `value of ${key}`);
    for (const [master, key] of keys) {
      expect(await client.get(key)).toBe(`value of ${key}`);
      const direct = new Redis(master.url);
      onCleanup(() => direct.disconnect());
      expect(await direct.get(key)).toBe(`value of ${key}`);
    }
  });

  it("moves a slot with its keys to another master while writes go on, losing none", async () => {
    const cluster = await startRedisCluster();
    const client = clusterClient(cluster);
    const tag = `{${freshPrefix()}}`;
    const from = await cluster.masterFor(tag);
    const to = (await cluster.mastersNow()).find((master) => master !== from) as ClusterNode;
    for (let index = 0; index < KEYS_PER_MOVE_PHASE; index++) await client.set(`${tag}:before:${index}`, index);

    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing || written < KEYS_PER_MOVE_PHASE) await client.set(`${tag}:during:${written}`, written++);
    })();
    const writtenBeforeMove = written;
    await cluster.migrateSlot(await cluster.slotOf(tag), to);
    const writtenWhileMoving = written - writtenBeforeMove;
    writing = false;
    await writes;

    expect(writtenWhileMoving).toBeGreaterThan(0);
    expect(await cluster.masterFor(tag)).toBe(to);
    const after = new Redis(to.url);
    onCleanup(() => after.disconnect());
    expect(await after.keys(`${tag}:before:*`)).toHaveLength(KEYS_PER_MOVE_PHASE);
    expect(await after.keys(`${tag}:during:*`)).toHaveLength(written);
  });

  it("promotes the replica of a SIGKILLed master, keeping what WAIT confirmed; the old master rejoins as replica", async () => {
    const cluster = await startRedisCluster();
    const client = clusterClient(cluster);
    const key = `${freshPrefix()}:survivor`;
    const master = await cluster.masterFor(key);
    const replica = await cluster.replicaOf(master);
    await client.set(key, "written before the kill");
    expect(await connectionTo(client, master).call("WAIT", 1, REPLICATED_WITHIN_MS)).toBe(1);

    await master.kill();
    await waitFor(async () => (await replica.role()) === "master", {
      timeoutMs: PROMOTED_WITHIN_MS,
      what: `replica ${replica.port} to take over from ${master.port}`,
    });
    await cluster.waitHealthy();
    expect(await cluster.masterFor(key)).toBe(replica);
    expect(await client.get(key)).toBe("written before the kill");

    await master.restart();
    await cluster.waitHealthy();
    expect(await master.role()).toBe("replica");
    expect(await cluster.replicaOf(replica)).toBe(master);
  });
});

describe("startRedisSentinel", () => {
  it("promotes the replica of a SIGKILLed master and an ioredis Sentinel client goes on with it", async () => {
    const deployment = await startRedisSentinel();
    const client = new Redis({ sentinels: [...deployment.sentinelAddresses], name: deployment.masterName });
    client.on("error", () => {});
    onCleanup(() => client.disconnect());
    const key = `${freshPrefix()}:survivor`;
    await client.set(key, "written before the kill");
    expect(await client.call("WAIT", 1, REPLICATED_WITHIN_MS)).toBe(1);

    const killed = await deployment.killMaster();
    const promoted = await deployment.waitForFailover(killed.port);

    expect(promoted.port).not.toBe(killed.port);
    expect(await client.get(key)).toBe("written before the kill");
    await client.set(`${key}:after`, "written after the failover");
    expect(infoField(await client.info("server"), "tcp_port")).toBe(String(promoted.port));
    expect(await (await deployment.master()).role()).toBe("master");
  });
});
