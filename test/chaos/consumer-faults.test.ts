/**
 * Chaos: consumers that misbehave (docs/protocol.md §5 "Prefetch", "Competing consumers", "Retries and dead
 * letters"), across two nodes under load:
 * - a slow consumer with prefetch 10 beside a fast one: neither ever runs more than its prefetch at once,
 *   the cluster never has more in flight than the two prefetches, and the fast one takes the rest;
 * - a poison message that every handler fails: exactly `maxAttempts` deliveries, then the `.dlq`, while
 *   every other message flows once.
 */
import { describe, expect, it } from "vitest";
import { expectSafe, History } from "./checker.js";
import { startChaosCluster } from "./cluster.js";
import { startConsumer } from "./consumers.js";
import { drain, redisQueueCounts, statsReader } from "./drain.js";
import { startLoad } from "./load.js";
import { report, sized } from "./report.js";

const QUEUE = "chaos";
const EMPTY = { ready: 0, inflight: 0, delayed: 0 };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chaos: consumers", () => {
  it("holds a slow consumer to its prefetch of 10 while a fast one on another node takes the rest", async () => {
    const prefetch = 10;
    const slowHandleMs = 200;
    const { redis, prefix, nodes } = await startChaosCluster(2);
    const history = new History();
    const slow = await startConsumer({
      name: "slow",
      url: nodes[0]!.url,
      queue: QUEUE,
      history,
      prefetch,
      handleMs: slowHandleMs,
    });
    const fast = await startConsumer({
      name: "fast",
      url: nodes[1]!.url,
      queue: QUEUE,
      history,
      prefetch,
      handleMs: 1,
    });
    const stats = await statsReader(nodes[0]!.url, QUEUE);
    let mostInflight = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        mostInflight = Math.max(mostInflight, (await stats()).inflight);
        await pause(50);
      }
    })();
    const load = startLoad({
      urls: nodes.map((node) => node.url),
      queue: QUEUE,
      history,
      messagesPerSecond: sized(300, 600),
    });
    await pause(sized(3000, 15_000));
    await load.stop();
    const drained = await drain({ history, stats, timeoutMs: 20_000 });
    watching = false;
    await watcher;

    const figures = history.figures();
    report("slow-consumer", {
      ...figures,
      prefetch,
      slowHandleMs,
      slowReceived: slow.received(),
      fastReceived: fast.received(),
      slowMostAtOnce: slow.mostAtOnce(),
      fastMostAtOnce: fast.mostAtOnce(),
      clusterMostInflight: mostInflight,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    expect(figures.duplicated).toBe(0);
    // The slow one was kept full, never beyond its prefetch; the cluster never held more than both prefetches.
    expect(slow.mostAtOnce()).toBe(prefetch);
    expect(fast.mostAtOnce()).toBeLessThanOrEqual(prefetch);
    expect(mostInflight).toBeLessThanOrEqual(2 * prefetch);
    // The fast one took what the slow one had no room for.
    expect(fast.received()).toBeGreaterThan(2 * slow.received());
    expect(slow.received() + fast.received()).toBe(figures.deliveries);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
  });

  it("gives a poison message exactly maxAttempts deliveries, then the .dlq, while the others flow once", async () => {
    const maxAttempts = 3;
    const { redis, prefix, nodes } = await startChaosCluster(2);
    const history = new History();
    const poison = new Set(["m-20", "m-120"]);
    const failWhen = (message: { id: string }) => poison.has(message.id);
    for (const [index, node] of nodes.entries()) {
      await startConsumer({ name: `c${index}`, url: node.url, queue: QUEUE, history, failWhen, handleMs: 2 });
    }
    await startConsumer({ name: "dead-letters", url: nodes[0]!.url, queue: `${QUEUE}.dlq`, history });
    const load = startLoad({
      urls: nodes.map((node) => node.url),
      queue: QUEUE,
      history,
      messagesPerSecond: 100,
      sendOptions: { maxAttempts },
    });
    await pause(sized(2500, 10_000));
    await load.stop();
    const drained = await drain({ history, stats: await statsReader(nodes[0]!.url, QUEUE), timeoutMs: 20_000 });

    const figures = history.figures();
    const poisonDeliveries = [...poison].map((id) => history.deliveriesOf(id));
    report("poison-message", {
      ...figures,
      maxAttempts,
      poisonDeliveries: poisonDeliveries.map((list) => list.map((delivery) => `${delivery.queue}#${delivery.attempt}`)),
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    for (const deliveries of poisonDeliveries) {
      expect(deliveries.map(({ queue, attempt, reason }) => ({ queue, attempt, reason }))).toEqual([
        { queue: QUEUE, attempt: 1, reason: undefined },
        { queue: QUEUE, attempt: 2, reason: undefined },
        { queue: QUEUE, attempt: 3, reason: undefined },
        { queue: `${QUEUE}.dlq`, attempt: 1, reason: "maxAttempts" },
      ]);
    }
    // Every other message was delivered once, on the queue itself.
    expect(figures.duplicated).toBe(poison.size);
    const others = history.allDeliveries().filter((delivery) => !poison.has(delivery.id));
    expect(new Set(others.map((delivery) => `${delivery.queue}#${delivery.attempt}`))).toEqual(new Set([`${QUEUE}#1`]));
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, `${QUEUE}.dlq`)).toEqual(EMPTY);
  });
});
