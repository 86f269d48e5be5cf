/**
 * The rolling upgrade to layout 3 (engines/redis/layout.ts): on a Redis written by the previous release
 * (layout 2) where a node of that release still runs, a new node serves plain messages but refuses groups
 * and priorities `UNAVAILABLE` (the old node would misread them); once no old node heartbeats any more, the
 * layout moves to 3 by itself and groups flow. A node that finds a layout newer than its own is not ready.
 * The old node is its registry entry as a node of layout 2 writes it (no `layout` field), kept alive by
 * the test's own heartbeats.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { onCleanup } from "./helpers/cleanup.js";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

/** Heartbeats as a node of layout 2 does, until stopped. */
function oldNodeHeartbeats(client: Redis, keys: RedisKeys, id: string): () => void {
  const beat = async () => {
    const [seconds, micros] = await client.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await client.zadd(keys.nodes(), now, id);
    await client.hset(keys.nodeInfo(id), {
      id,
      url: "http://old:3000",
      startedAt: now,
      connections: 0,
      lastSeenAt: now,
    });
  };
  void beat();
  const timer = setInterval(() => void beat(), 200);
  const stop = () => clearInterval(timer);
  onCleanup(stop);
  return stop;
}

describe("the rolling upgrade to layout 3", () => {
  it("refuses groups while a node of layout 2 runs, and moves the layout to 3 once it is gone", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const keys = new RedisKeys(prefix);
    const client = new Redis(redis.url);
    onCleanup(() => client.disconnect());
    await client.set(keys.layout(), "2");
    const stopOldNode = oldNodeHeartbeats(client, keys, "old-node");

    const node = await startNode({ redisUrl: redis.url, prefix });
    const socket = await connectSocket(node.url);
    expect(await command(socket, "queue:send", { queue: "jobs", data: 1 })).toMatchObject({ ok: true });
    expect(await command(socket, "queue:send", { queue: "jobs", data: 2, group: "g" })).toMatchObject({
      ok: false,
      error: { code: "UNAVAILABLE", message: expect.stringContaining("rolling upgrade") },
    });
    expect(await command(socket, "queue:send", { queue: "jobs", data: 3, priority: 1 })).toMatchObject({ ok: false });
    expect(await client.get(keys.layout())).toBe("2");

    stopOldNode();
    await waitFor(async () => (await client.get(keys.layout())) === "3", {
      what: "the layout to move to 3 once the old node is gone",
      timeoutMs: 15_000,
    });
    await waitFor(
      async () => (await command(socket, "queue:send", { queue: "jobs", data: 2, group: "g" })).ok === true,
      { what: "a grouped send to be accepted" },
    );
    expect(await command(socket, "queue:stats", { queue: "jobs" })).toMatchObject({ ready: 2, groups: 1 });
  });

  it("keeps a node that finds a newer layout from being ready, saying why", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const client = new Redis(redis.url);
    onCleanup(() => client.disconnect());
    await client.set(new RedisKeys(prefix).layout(), "4");
    const node = await startNode({ redisUrl: redis.url, prefix, until: "listening" });
    // Until the node has read the layout, /readyz may give another reason (its first heartbeat).
    const answer = await waitFor(
      async () => {
        const ready = await fetch(`${node.url}/readyz`);
        const text = JSON.stringify(await ready.json());
        return text.includes("layout 4") ? { status: ready.status, text } : undefined;
      },
      { what: "/readyz to name the newer layout" },
    );
    expect(answer.status).toBe(503);
    expect(answer.text).toContain("layout 4, newer than this node's 3");
    // And it stays so: the node never serves data it would misread.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
  });
});
