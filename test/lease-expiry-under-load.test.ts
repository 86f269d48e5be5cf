/**
 * Lease expiry keeps its precision while a queue is busy (docs/protocol.md §5 "Lease end"; the Redis engine
 * sweeps due queues every 200 ms). A sweep claims a due queue (pushing its due time 5 s ahead, in case
 * the sweeper dies), sweeps it, then settles its next due time, unless a receive or a send marked the
 * queue meanwhile. Such a mark says when its own work is due, not the work already there: the sweep's
 * finding must still count, or a lease due sooner waits for the mark or the claim (up to 5 s late).
 * - The scripts themselves, in the order the race takes: claim, a mark far ahead, settle.
 * - End to end: leases held by consumers that never ack end one after another while another consumer
 *   receives and acks a steady flow on the same queue; each held message comes back within 1.5 s of its
 *   lease's end. (This one catches the race only when a mark lands inside a sweep: often, not always.)
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { Scripts } from "../packages/server/src/engines/redis/scripts.js";
import { queueRef } from "../packages/server/src/engines/refs.js";
import { consume, deliveries } from "./conformance/queue-semantics.js";
import { onCleanup } from "./helpers/cleanup.js";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const QUEUE = "busy";
const HELD_VISIBILITY_MS = 1000;
const HOLDERS = 6;
/** Between two holders' deliveries, so their leases end at different sweeps. */
const STAGGER_MS = 300;
/** The sweep's interval, plus room for a loaded machine; the 5 s claim is far above it. */
const LATE_ALLOWANCE_MS = 1500;

describe("lease expiry on a busy queue", () => {
  it("keeps a sweep's next due time when a mark far ahead landed during the sweep", async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    onCleanup(() => void client.disconnect());
    const keys = new RedisKeys(freshPrefix());
    const scripts = new Scripts(client, keys);
    const ref = queueRef("/", QUEUE);
    const [seconds] = await client.time();
    const now = Number(seconds) * 1000;

    await scripts.markDueQueue(ref, now - 1);
    const [claim] = await scripts.claimDueQueues(10, 5000);
    expect(claim?.ref).toBe(ref);
    // During the sweep: a receive with a 30 s lease marks the queue.
    await scripts.markDueQueue(ref, now + 30_000);
    // The sweep found a lease due in 1 s.
    expect(await scripts.settleDueQueue(ref, claim?.generation ?? "", now + 1000)).toBe(0);

    expect(Number(await client.zscore(keys.dueQueues("/"), ref))).toBe(now + 1000);
  });

  it("moves the first version's one-level due index into the two levels and claims what is due", async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    onCleanup(() => void client.disconnect());
    const keys = new RedisKeys(freshPrefix());
    const scripts = new Scripts(client, keys);
    const [seconds] = await client.time();
    const now = Number(seconds) * 1000;
    const due = queueRef("/orders", "due-now");
    const later = queueRef("/", "due-later");
    // What a node of the first version left behind during a rolling upgrade.
    await client.zadd(keys.legacyDueQueues(), now - 1, due, now + 60_000, later);

    const claimed = await scripts.claimDueQueues(10, 5000);
    expect(claimed[0]?.ref).toBe(due);
    expect(await client.exists(keys.legacyDueQueues())).toBe(0);
    expect(Number(await client.zscore(keys.dueQueues("/"), later))).toBe(now + 60_000);
    expect(Number(await client.zscore(keys.dueNamespaces(), "/"))).toBe(now + 60_000);
  });

  it("gives every namespace with due queues a share of one claim", async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    onCleanup(() => void client.disconnect());
    const keys = new RedisKeys(freshPrefix());
    const scripts = new Scripts(client, keys);
    const [seconds] = await client.time();
    const now = Number(seconds) * 1000;
    for (let index = 0; index < 100; index += 1)
      await scripts.markDueQueue(queueRef("/crowd", `q${index}`), now - 1000);
    await scripts.markDueQueue(queueRef("/quiet", "one"), now - 1);

    const claimed = await scripts.claimDueQueues(10, 5000);
    const refs = claimed.map((claim) => claim.ref);
    expect(refs).toContain(queueRef("/quiet", "one"));
    expect(refs.length).toBeLessThanOrEqual(10);
  });

  it("brings back each held message soon after its lease ends, not 5 s late, while others flow", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const producer = await connectSocket(node.url);

    // The busy consumer: long leases (so its own marks are far ahead), acks at once.
    const busy = await connectSocket(node.url);
    // Every delivery to any consumer, with when it arrived.
    const all: { id: string; attempt: number; at: number }[] = [];
    const record = (message: { id: string; attempt: number }) =>
      all.push({ id: message.id, attempt: message.attempt, at: Date.now() });
    busy.on("queue:message", (message: { id: string; attempt: number; receipt: string }) => {
      record(message);
      busy.emit("queue:ack", { queue: QUEUE, receipt: message.receipt }, () => {});
    });
    await consume(busy, { queue: QUEUE, prefetch: 10, visibilityMs: 30_000 });
    let flowing = true;
    const flow = (async () => {
      let sequence = 0;
      while (flowing) {
        await command(producer, "queue:sendBatch", {
          queue: QUEUE,
          messages: Array.from({ length: 5 }, () => ({ data: sequence++ })),
        });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    // Holders, one after another, each holds the one message it gets and never acks it.
    const held: { id: string; attempt: number; at: number }[] = [];
    for (let index = 0; index < HOLDERS; index += 1) {
      const holder = await connectSocket(node.url);
      const got = deliveries(holder);
      holder.on("queue:message", record);
      const consumer = await consume(holder, { queue: QUEUE, prefetch: 1, visibilityMs: HELD_VISIBILITY_MS });
      await waitFor(() => got.length === 1, { what: `holder ${index} to get a message` });
      // No more deliveries to it (its lease stays): only the busy consumer receives from now on.
      expect(await command(holder, "queue:cancel", { consumer })).toEqual({ ok: true });
      const { id, attempt } = got[0]!;
      const deliveredAt = all.find((message) => message.id === id && message.attempt === attempt)?.at ?? 0;
      held.push({ id, attempt, at: deliveredAt });
      await new Promise((resolve) => setTimeout(resolve, STAGGER_MS));
    }

    const back = await waitFor(
      () => {
        const again = held.map(({ id, attempt }) =>
          all.find((message) => message.id === id && message.attempt === attempt + 1),
        );
        return again.every((message) => message !== undefined) ? again : undefined;
      },
      { timeoutMs: 15_000, what: "every held message to come back" },
    );
    flowing = false;
    await flow;
    const lateMs = back.map((message, index) => (message?.at ?? 0) - (held[index]?.at ?? 0) - HELD_VISIBILITY_MS);
    expect(Math.max(...lateMs), `ms past each lease's end: ${lateMs.join(", ")}`).toBeLessThan(LATE_ALLOWANCE_MS);
  });
});
