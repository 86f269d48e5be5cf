/**
 * A node tells the state of its store (docs/protocol.md §16, issue "first hour"): at start it says it is
 * connecting to Redis, then logs each change once (ready, unreachable with the reason, back), never at
 * every reconnection attempt, and never claims a Redis it has not reached; it drains and exits 0 within
 * 10 s even when Redis never answered. Real node processes, real redis-servers (one started late on the
 * port the node dials, one that first refuses the node's password).
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";
import { startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

/** The contract's bound on a drain (docs/protocol.md §9, §16). */
const DRAIN_WITHIN_MS = 10_000;
/** How soon an operator is told that Redis is unreachable: a couple of seconds. */
const TOLD_WITHIN_MS = 2000;
/** Generous bound on a node noticing that Redis came up. */
const NOTICE_WITHIN_MS = 10_000;

function waitForLine(node: NodeHandle, pattern: RegExp, timeoutMs: number): Promise<string> {
  return waitFor(
    () =>
      node
        .output()
        .split("\n")
        .find((line) => pattern.test(line)),
    {
      timeoutMs,
      what: `a line matching ${pattern}; output so far:\n${node.output()}`,
    },
  );
}

function waitUntilReady(node: NodeHandle): Promise<true> {
  return waitFor(async () => (await fetch(`${node.url}/readyz`)).status === 200 || undefined, {
    timeoutMs: NOTICE_WITHIN_MS,
    what: `/readyz of port ${node.port} to answer 200`,
  });
}

/** A node dialling a Redis port where nothing listens yet. */
async function nodeWithoutRedis(): Promise<{ node: NodeHandle; redisPort: number }> {
  const redisPort = await freePort();
  const node = await startNode({ redisUrl: `redis://127.0.0.1:${redisPort}`, until: "listening" });
  return { node, redisPort };
}

describe("store state in the log", () => {
  it("logs that Redis is unreachable with the reason within seconds, and drains and exits 0 within 10 s though Redis never answered", async () => {
    const { node, redisPort } = await nodeWithoutRedis();
    await waitForLine(
      node,
      new RegExp(`Redis unreachable at 127\\.0\\.0\\.1:${redisPort}: ECONNREFUSED`),
      TOLD_WITHIN_MS,
    );
    expect(node.output()).toContain(`Redis engine: connecting to 127.0.0.1:${redisPort}`);
    expect(node.output()).not.toMatch(/ready on the Redis engine|Redis ready/);
    const began = performance.now();
    expect(await node.stop()).toBe(0);
    expect(performance.now() - began).toBeLessThan(DRAIN_WITHIN_MS);
    expect(node.output()).not.toContain("close took too long");
  });

  it("logs that Redis is ready when it comes up later on the port the node dials, and /readyz turns 200", async () => {
    const { node, redisPort } = await nodeWithoutRedis();
    await waitForLine(node, /Redis unreachable at .*: ECONNREFUSED/, TOLD_WITHIN_MS);
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    await startRedis({ port: redisPort });
    await waitForLine(node, new RegExp(`Redis ready at 127\\.0\\.0\\.1:${redisPort}`), NOTICE_WITHIN_MS);
    await waitUntilReady(node);
  });

  it("logs each change once: connecting, ready, unreachable with each reason once, back", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url });
    await redis.kill();
    await waitForLine(node, /Redis unreachable at .*: ECONNREFUSED/, NOTICE_WITHIN_MS);
    await redis.restart();
    await waitForLine(
      node,
      new RegExp(`Redis back at 127\\.0\\.0\\.1:${redis.port} after \\d+\\.\\d s`),
      NOTICE_WITHIN_MS,
    );
    await waitUntilReady(node);
    const changes = node
      .output()
      .split("\n")
      .filter((line) => line.includes('"component":"redis"'))
      .map((line) => JSON.parse(line) as { msg: string; reason?: string })
      .filter((entry) => /^Redis (engine|ready|unreachable|back)/.test(entry.msg));
    const kinds = changes.map((entry) => entry.msg.split(" ")[1]);
    expect(kinds[0]).toBe("engine:");
    expect(kinds[1]).toBe("ready");
    expect(kinds.at(-1)).toBe("back");
    const reasons = changes.filter((entry) => entry.reason !== undefined).map((entry) => entry.reason);
    expect(kinds.slice(2, -1)).toEqual(reasons.map(() => "unreachable"));
    expect(new Set(reasons).size).toBe(reasons.length);
    expect(reasons).toContain("ECONNREFUSED");
  });

  it("becomes ready once Redis accepts the password it first refused", async () => {
    const nodePassword = "the-password-the-node-has";
    const redis = await startRedis({ requirepass: "the-password-redis-had" });
    const node = await startNode({
      redisUrl: `redis://:${nodePassword}@127.0.0.1:${redis.port}`,
      until: "listening",
    });
    await waitForLine(node, /Redis unreachable at .*: WRONGPASS/, TOLD_WITHIN_MS);
    const admin = new Redis(redis.port, "127.0.0.1", { password: "the-password-redis-had", lazyConnect: true });
    onCleanup(() => admin.disconnect());
    await admin.connect();
    await admin.config("SET", "requirepass", nodePassword);
    await waitForLine(node, /Redis ready at /, NOTICE_WITHIN_MS);
    await waitUntilReady(node);
  });
});
