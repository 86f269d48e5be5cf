/**
 * Queue behaviour that only a cluster on Redis has: a SIGKILLed node's leases, Redis going away, and the
 * warning about an evicting Redis. The semantics shared with the memory engine are in
 * conformance/queue-semantics.ts (run by queues-redis.test.ts and queues-memory.test.ts).
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { consume, deliveries, stats } from "./conformance/queue-semantics.js";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

describe("queues on a Redis cluster", () => {
  it("gives a SIGKILLed node's 10 leased messages to a consumer on another node after the lease, attempt 2", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix })) as [NodeHandle, NodeHandle];
    const producer = await connectSocket(a.url);
    await command(producer, "queue:sendBatch", {
      queue: "crash",
      messages: Array.from({ length: 10 }, (_, index) => ({ data: index })),
    });
    const doomed = await connectSocket(b.url);
    const doomedGot = deliveries(doomed);
    await consume(doomed, { queue: "crash", prefetch: 10, visibilityMs: 1500 });
    await waitFor(() => doomedGot.length === 10);
    await b.kill();

    const survivor = await connectSocket(a.url);
    const got = deliveries(survivor);
    await consume(survivor, { queue: "crash", prefetch: 20 });
    await waitFor(() => got.length === 10, { timeoutMs: 8000 });
    expect(got.map((message) => message.data)).toEqual(Array.from({ length: 10 }, (_, index) => index));
    expect(new Set(got.map((message) => message.attempt))).toEqual(new Set([2]));
    expect(await stats(producer, "crash")).toMatchObject({ inflight: 10, ready: 0 });
    // The dead node's consumer stops counting once its heartbeat is too old.
    await waitFor(async () => (await stats(producer, "crash")).consumers === 1);
  });

  it("answers UNAVAILABLE within 2 seconds while Redis is down, and resumes when it returns", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const socket = await connectSocket(node.url);
    const got = deliveries(socket);
    await consume(socket, { queue: "outage" });
    await redis.kill();
    const startedAt = Date.now();
    const reply = await command(socket, "queue:send", { queue: "outage", data: "lost?" });
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(reply.error.code).toBe("UNAVAILABLE");

    await redis.restart();
    const sent = await waitFor(async () => {
      const attempt = await command(socket, "queue:send", { queue: "outage", data: "after" });
      return attempt.ok ? attempt : undefined;
    });
    expect(sent.duplicate).toBe(false);
    await waitFor(() => got.length === 1, { timeoutMs: 5000 });
    expect(got[0]!.data).toBe("after");
  });

  it("warns loudly at start when Redis may evict keys", async () => {
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    onCleanup(() => void admin.disconnect());
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    await waitFor(() => node.output().includes("REDIS MAY EVICT KEYS"), { what: "the eviction warning" });
    expect(node.output()).toContain("maxmemory-policy is allkeys-lru");
  });

  it("sweeps a consumed queue whose due-time mark was lost, so its expired leases still come back", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const [a, b] = (await startCluster(2, { redisUrl: redis.url, prefix })) as [NodeHandle, NodeHandle];
    const holder = await connectSocket(b.url);
    await command(holder, "queue:send", { queue: "lost-mark", data: "x" });
    const held = deliveries(holder);
    await consume(holder, { queue: "lost-mark", visibilityMs: 1000 });
    await waitFor(() => held.length === 1);
    // Lose the mark, as if Redis had failed between the receive and the mark that follows it, then kill
    // the holder's node so nothing releases the lease: only a sweep can bring the message back.
    const admin = new Redis(redis.url);
    onCleanup(() => void admin.disconnect());
    const keys = new RedisKeys(prefix);
    const dueQueues = `${keys.duePartitionQueuesPrefix(keys.duePartitionOfQueue("/", "lost-mark"))}/`;
    expect(await admin.zrem(dueQueues, "/\nlost-mark")).toBe(1);
    await b.kill();

    // A consumer arriving on the other node makes that node sweep the queue, mark or no mark.
    const taker = await connectSocket(a.url);
    const got = deliveries(taker);
    await consume(taker, { queue: "lost-mark" });
    await waitFor(() => got.length === 1, { timeoutMs: 5000 });
    expect(got[0]).toMatchObject({ data: "x", attempt: 2 });
  });

  it("accepts a producer's id again once the dedup window has passed since its first acceptance", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix(), args: ["--dedup-window-ms", "1000"] });
    const socket = await connectSocket(node.url);
    const acceptedAt = Date.now();
    expect(await command(socket, "queue:send", { queue: "window", id: "w1", data: 1 })).toMatchObject({
      duplicate: false,
    });
    const got = deliveries(socket);
    await consume(socket, { queue: "window" });
    await waitFor(() => got.length === 1);
    await command(socket, "queue:ack", { queue: "window", receipt: got[0]!.receipt });
    // Acked and inside the window: still a duplicate.
    expect(await command(socket, "queue:send", { queue: "window", id: "w1", data: 2 })).toMatchObject({
      duplicate: true,
    });
    const fresh = await waitFor(async () => {
      const reply = await command(socket, "queue:send", { queue: "window", id: "w1", data: 3 });
      return reply.duplicate === false ? reply : undefined;
    });
    expect(fresh).toEqual({ ok: true, id: "w1", duplicate: false });
    expect(Date.now() - acceptedAt).toBeGreaterThanOrEqual(1000);
    await waitFor(() => got.length === 2);
    expect(got[1]!.data).toBe(3);
  });
});
