/**
 * The cluster registry conformance suite on the Redis registry, in-process: each registry built from its
 * parts as engines/redis/redis-store.ts builds it (its own connections, keys, scripts), on a Redis of the
 * test's own under a fresh key prefix. Then what only Redis can show: several nodes on one Redis, a node
 * that closes, a node whose heartbeat stops, and a node cut off from Redis and back.
 */
import { once } from "node:events";
import { MailroomError } from "@mailroom/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ClusterRegistry, LocalNode } from "../packages/server/src/engines/cluster-registry.js";
import { RedisConnections } from "../packages/server/src/engines/redis/connections.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { RedisRegistry } from "../packages/server/src/engines/redis/redis-cluster-registry.js";
import { Scripts } from "../packages/server/src/engines/redis/scripts.js";
import { clusterRegistrySuite, localNode, sortedMembers } from "./conformance/cluster-registry-suite.js";
import { onCleanup } from "./helpers/cleanup.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

/** Fast heartbeats, so that a node drops out within a second of its last one. */
const HEARTBEAT_INTERVAL_MS = 100;
/** The shortest node timeout the config allows for this interval is twice it; a little more here. */
const NODE_TIMEOUT_MS = 500;
const COMMAND_TIMEOUT_MS = 2000;
/** How long a condition may take: a node timeout, a heartbeat, and room for a busy machine. */
const EVENTUALLY = { timeoutMs: 5000, intervalMs: 20 };

interface RedisNode {
  registry: RedisRegistry;
  connections: RedisConnections;
  node: LocalNode;
  /** Closes the registry, then its connections; once, however often it is called. */
  close(): Promise<void>;
}

/** Starts a registry for `node` on its own connections; closes both after the test. */
async function startRegistry(url: string, prefix: string, node = localNode()): Promise<RedisNode> {
  const logger = pino({ level: "silent" });
  const connections = new RedisConnections({
    mode: "standalone",
    url,
    sentinelMaster: "",
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    logger,
  });
  const keys = new RedisKeys(prefix);
  const registry = new RedisRegistry({
    redis: connections.command,
    scripts: new Scripts(connections.command, keys),
    keys,
    node,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    logger,
  });
  const ready = once(connections.command, "ready");
  connections.connect();
  await ready;
  await registry.start();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= registry.close().then(() => connections.close());
    return closing;
  };
  onCleanup(close);
  return { registry, connections, node, close };
}

clusterRegistrySuite("redis", async (node) => {
  const redis = await startRedis();
  const { registry, close } = await startRegistry(redis.url, freshPrefix(), node);
  return { registry, cleanup: close };
});

/** Two nodes on one Redis, each with its own connections, as two processes would be. */
async function twoNodes(): Promise<{ a: RedisNode; b: RedisNode; prefix: string; url: string }> {
  const redis = await startRedis();
  const prefix = freshPrefix();
  const a = await startRegistry(redis.url, prefix);
  const b = await startRegistry(redis.url, prefix);
  return { a, b, prefix, url: redis.url };
}

/** Cuts the node's command connection, as a node frozen or cut off from Redis: its registry stays open. */
async function cutOff({ connections }: RedisNode): Promise<void> {
  const ended = once(connections.command, "end");
  connections.command.disconnect();
  await ended;
}

/** Connects a node cut off by `cutOff` again. */
async function reconnect({ connections }: RedisNode): Promise<void> {
  await connections.command.connect();
}

async function memberSockets(registry: ClusterRegistry, room: string): Promise<string[]> {
  return sortedMembers(await registry.members("/", room)).members.map((member) => member.socket);
}

async function nodeIds(registry: ClusterRegistry): Promise<string[]> {
  return (await registry.nodes()).map((node) => node.id).sort();
}

describe("cluster registry on Redis: several nodes", () => {
  it("shows every node the members, consumers and nodes of all of them", async () => {
    const { a, b } = await twoNodes();
    await a.registry.join({ namespace: "/", room: "lobby", socket: "a1", user: "alice" });
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1", user: "bob" });
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b2" });
    await a.registry.setQueueConsumers("/", "jobs", 2);
    await b.registry.setQueueConsumers("/", "jobs", 3);
    for (const { registry } of [a, b]) {
      expect(sortedMembers(await registry.members("/", "lobby"))).toEqual({
        count: 3,
        members: [{ socket: "a1", user: "alice" }, { socket: "b1", user: "bob" }, { socket: "b2" }],
      });
      expect(await registry.queueConsumerCounts("/", ["jobs"])).toEqual([5]);
      expect(await nodeIds(registry)).toEqual([a.node.id, b.node.id].sort());
    }
  });

  it("leaves the other nodes' members in place when one node's socket leaves", async () => {
    const { a, b } = await twoNodes();
    await a.registry.join({ namespace: "/", room: "lobby", socket: "a1" });
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1" });
    await b.registry.leave({ namespace: "/", room: "lobby", socket: "a1" });
    expect(await memberSockets(a.registry, "lobby")).toEqual(["a1", "b1"]);
    await b.registry.leave({ namespace: "/", room: "lobby", socket: "b1" });
    expect(await a.registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "a1" }] });
  });

  it("takes a closing node's members, consumers and entry away at once", async () => {
    const { a, b } = await twoNodes();
    await a.registry.join({ namespace: "/", room: "lobby", socket: "a1" });
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1" });
    await b.registry.setQueueConsumers("/", "jobs", 3);
    await b.registry.close();
    expect(await a.registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "a1" }] });
    expect(await a.registry.queueConsumers("/", "jobs")).toBe(0);
    expect(await nodeIds(a.registry)).toEqual([a.node.id]);
  });

  it("drops a node whose heartbeat stops after its node timeout, and a live node removes what it held", async () => {
    const { a, b, prefix } = await twoNodes();
    await a.registry.join({ namespace: "/", room: "lobby", socket: "a1" });
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1" });
    await b.registry.setQueueConsumers("/", "jobs", 3);
    // B's process freezes: its connection stays down, its registry is never closed.
    const frozenAt = Date.now();
    await cutOff(b);
    await waitFor(async () => (await a.registry.members("/", "lobby")).count === 1, {
      ...EVENTUALLY,
      what: "the frozen node's member to stop counting",
    });
    // Its last heartbeat landed at most an interval or two before it froze (one may have been slow).
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(NODE_TIMEOUT_MS - 2 * HEARTBEAT_INTERVAL_MS);
    expect(await memberSockets(a.registry, "lobby")).toEqual(["a1"]);
    expect(await a.registry.queueConsumers("/", "jobs")).toBe(0);
    expect(await nodeIds(a.registry)).toEqual([a.node.id]);
    const keys = new RedisKeys(prefix);
    await waitFor(async () => (await a.connections.command.hkeys(keys.roomMembers("/", "lobby"))).length === 1, {
      ...EVENTUALLY,
      what: "the live node to remove the dead node's members from Redis",
    });
    expect(await a.connections.command.hkeys(keys.roomCounts("/", "lobby"))).toEqual([a.node.id]);
    expect(await a.connections.command.exists(keys.nodeRooms(b.node.id))).toBe(0);
  });

  it("writes back the members of a node that was dropped while cut off, once it reaches Redis again", async () => {
    const { a, b } = await twoNodes();
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1", user: "bob" });
    await b.registry.setQueueConsumers("/", "jobs", 2);
    await cutOff(b);
    await waitFor(async () => (await nodeIds(a.registry)).length === 1, { ...EVENTUALLY, what: "B dropped" });
    expect(await a.registry.members("/", "lobby")).toEqual({ count: 0, members: [] });
    await reconnect(b);
    await waitFor(async () => (await a.registry.members("/", "lobby")).count === 1, {
      ...EVENTUALLY,
      what: "B's member written back",
    });
    expect(await a.registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "b1", user: "bob" }] });
    await waitFor(async () => (await a.registry.queueConsumers("/", "jobs")) === 2, {
      ...EVENTUALLY,
      what: "B's consumers written back",
    });
  });
});

describe("cluster registry on Redis: Redis out of reach", () => {
  it("refuses a join with UNAVAILABLE while Redis is out of reach, and keeps nothing of it", async () => {
    const { a, b } = await twoNodes();
    await cutOff(b);
    const error = await b.registry.join({ namespace: "/", room: "lobby", socket: "b1" }).then(
      () => expect.fail("expected UNAVAILABLE"),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(MailroomError);
    expect((error as MailroomError).code).toBe("UNAVAILABLE");
    await reconnect(b);
    await b.registry.heartbeatNow();
    expect(await a.registry.members("/", "lobby")).toEqual({ count: 0, members: [] });
  });

  it("applies a leave made while Redis is out of reach once it is back", async () => {
    const { a, b } = await twoNodes();
    await b.registry.join({ namespace: "/", room: "lobby", socket: "b1" });
    await cutOff(b);
    await b.registry.leave({ namespace: "/", room: "lobby", socket: "b1" });
    await reconnect(b);
    await waitFor(async () => (await a.registry.members("/", "lobby")).count === 0, {
      ...EVENTUALLY,
      what: "the leave to reach Redis",
    });
  });
});
