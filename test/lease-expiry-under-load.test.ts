/**
 * Lease expiry keeps its precision while a queue is busy (docs/protocol.md §5 "Lease end"; the Redis engine
 * sweeps due queues every 200 ms). A sweep claims a due queue (pushing its due time 5 s ahead, in case
 * the sweeper dies), sweeps it, then settles its next due time, unless a receive or a send marked the
 * queue meanwhile. Such a mark says when its own work is due, not the work already there: the sweep's
 * finding must still count, or a lease due sooner waits for the mark or the claim (up to 5 s late).
 * - The scripts themselves, in the order the race takes: claim, a mark far ahead, settle; the partitions of
 *   the due index, and layout 1's index (swept during a rolling upgrade).
 * - End to end: leases held by consumers that never ack end one after another while another consumer
 *   receives and acks a steady flow on the same queue; each held message comes back within 1.5 s of its
 *   lease's end. (This one catches the race only when a mark lands inside a sweep: often, not always.)
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { DUE_PARTITIONS } from "../packages/server/src/engines/redis/due-partitions.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { Scripts } from "../packages/server/src/engines/redis/scripts.js";
import { parseQueueRef, queueRef } from "../packages/server/src/engines/refs.js";
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

function namespaceAndQueue(ref: string): [string, string] {
  const { namespace, queue } = parseQueueRef(ref);
  return [namespace, queue];
}

/** The scripts on a Redis of the test's own, under a fresh prefix, and Redis's clock now (ms). */
async function scriptsOnRedis() {
  const redis = await startRedis();
  const prefix = freshPrefix();
  const client = new Redis(redis.url);
  onCleanup(() => void client.disconnect());
  const keys = new RedisKeys(prefix);
  const [seconds] = await client.time();
  return { redis, prefix, client, keys, scripts: new Scripts(client, keys), now: Number(seconds) * 1000 };
}

describe("lease expiry on a busy queue", () => {
  it("keeps a sweep's next due time when a mark far ahead landed during the sweep", async () => {
    const { client, keys, scripts, now } = await scriptsOnRedis();
    const ref = queueRef("/", QUEUE);
    const partition = keys.duePartitionOfQueue("/", QUEUE);

    await scripts.markDueQueue(ref, now - 1);
    const {
      claimed: [claim],
      nextDueInMs,
    } = await scripts.claimDueQueues(partition, 10, 5000);
    expect(claim?.ref).toBe(ref);
    // The claim pushed the queue 5 s ahead, and says when the partition is next due.
    expect(nextDueInMs).toBeGreaterThan(4000);
    expect(nextDueInMs).toBeLessThanOrEqual(5000);
    // During the sweep: a receive with a 30 s lease marks the queue.
    await scripts.markDueQueue(ref, now + 30_000);
    // The sweep found a lease due in 1 s.
    expect(await scripts.settleDueQueue(ref, claim?.generation ?? "", now + 1000)).toBe(0);

    expect(Number(await client.zscore(`${keys.duePartitionQueuesPrefix(partition)}/`, ref))).toBe(now + 1000);
  });

  it("marks each queue in its own partition of the due index, and claims it from there only", async () => {
    const { keys, scripts, now } = await scriptsOnRedis();
    const duePartitionOf = (ref: string) => keys.duePartitionOfQueue(...namespaceAndQueue(ref));
    const refs = Array.from({ length: 64 }, (_, index) => queueRef("/", `q${index}`));
    for (const ref of refs) await scripts.markDueQueue(ref, now - 1);
    const used = new Set(refs.map(duePartitionOf));
    expect(used.size).toBeGreaterThan(DUE_PARTITIONS / 2);

    for (let partition = 0; partition < DUE_PARTITIONS; partition += 1) {
      const claimed = (await scripts.claimDueQueues(partition, 100, 5000)).claimed.map((claim) => claim.ref);
      expect(claimed.sort()).toEqual(refs.filter((ref) => duePartitionOf(ref) === partition).sort());
    }
  });

  it("claims from layout 1's index (one level and two levels), which a node of the previous release still marks", async () => {
    const { client, keys, scripts, now } = await scriptsOnRedis();
    const due = queueRef("/orders", "due-now");
    const later = queueRef("/", "due-later");
    const [namespaces, , oneLevel] = keys.legacyDueKeys();
    // What nodes of the first releases left behind during a rolling upgrade.
    await client.zadd(oneLevel, now - 1, due, now + 60_000, later);

    const { claimed } = await scripts.claimLegacyDueQueues(10, 5000);
    expect(claimed.map((claim) => claim.ref)).toEqual([due]);
    expect(await client.exists(oneLevel)).toBe(0);
    expect(Number(await client.zscore(`${keys.legacyDueQueuesPrefix()}/`, later))).toBe(now + 60_000);
    expect(Number(await client.zscore(namespaces, "/"))).toBe(now + 60_000);
    // Settled out of layout 1's index: a node then marks the queue's next due time in its partition.
    expect(await scripts.settleDueQueue(due, claimed[0]?.generation ?? "", 0, true)).toBe(1);
    expect(await client.zscore(`${keys.legacyDueQueuesPrefix()}/orders`, due)).toBeNull();
  });

  it("ends a lease that only layout 1's due index knows of, and moves the queue into its partition", async () => {
    const { redis, prefix, client, keys, scripts } = await scriptsOnRedis();
    const target = { namespace: "/", queue: "old", isDeadLetterQueue: false };
    const item = { id: "m1", chosenByProducer: false, delayMs: 0, ttlMs: 0, maxAttempts: 5, body: Buffer.from("{}") };
    await scripts.queueSend(target, 1000, { token: "def456", maxBytes: 0 }, [item]);
    const noStanding = { credit: 0, field: "n1/500", lifeMs: 0 };
    const { deadline } = await scripts.queueReceive(target, 1, 500, "abc123", 0, noStanding);
    // A node of the previous release marked the lease's end in its own index.
    const ref = queueRef("/", "old");
    await client.zadd(`${keys.legacyDueQueuesPrefix()}/`, deadline, ref);
    await client.zadd(keys.legacyDueKeys()[0], deadline, "/");

    await startNode({ redisUrl: redis.url, prefix });
    await waitFor(async () => (await scripts.queueStats(target)).ready === 1, {
      what: "the lease to end through layout 1's index",
    });
    await waitFor(async () => (await client.exists(...keys.legacyDueKeys())) === 0, {
      what: "layout 1's index to empty",
    });
    expect(await client.get(keys.layout())).toBe("3");
  });

  it("gives every namespace with due queues a share of one claim", async () => {
    const { keys, scripts, now } = await scriptsOnRedis();
    const duePartitionOf = (ref: string) => keys.duePartitionOfQueue(...namespaceAndQueue(ref));
    const quiet = queueRef("/quiet", "one");
    const partition = duePartitionOf(quiet);
    let crowded = 0;
    for (let index = 0; crowded < 100; index += 1) {
      const ref = queueRef("/crowd", `q${index}`);
      if (duePartitionOf(ref) !== partition) continue;
      await scripts.markDueQueue(ref, now - 1000);
      crowded += 1;
    }
    await scripts.markDueQueue(quiet, now - 1);

    const { claimed } = await scripts.claimDueQueues(partition, 10, 5000);
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
