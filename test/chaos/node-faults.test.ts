/**
 * Chaos: nodes and consumers dying under load (PRODUCT.md "Reliability", docs/protocol.md §5). Producers and
 * consumers are real clients behind a TCP balancer, as in a deployment; after the faults and a full
 * drain the checker accounts for every message: nothing accepted is lost, nothing unexpected arrives,
 * and no lease or message is left in Redis.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisKeys } from "../../packages/server/src/engines/redis/keys.js";
import { waitFor } from "../helpers/wait.js";
import { expectSafe, History } from "./checker.js";
import { redeliveryFigures, startChaosCluster, watchReadiness } from "./cluster.js";
import { spawnConsumer, startConsumer } from "./consumers.js";
import { drain, redisQueueCounts, statsReader } from "./drain.js";
import { startLoad } from "./load.js";
import { report, sized } from "./report.js";

const QUEUE = "chaos";
const EMPTY = { ready: 0, inflight: 0, delayed: 0 };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chaos: nodes and consumers", () => {
  it("loses nothing when each node in turn is SIGKILLed under load with consumers on it", async () => {
    const visibilityMs = 2000;
    const { redis, prefix, nodes, balancer } = await startChaosCluster(3);
    const history = new History();
    // Consumers first, so the balancer puts one on each node.
    const consumers = [];
    for (let index = 0; index < 3; index += 1) {
      consumers.push(
        await startConsumer({ name: `c${index}`, url: balancer.url, queue: QUEUE, history, visibilityMs, handleMs: 5 }),
      );
    }
    expect([...balancer.connectionsByBackend().values()]).toEqual([1, 1, 1]);
    const load = startLoad({
      urls: [balancer.url, balancer.url],
      queue: QUEUE,
      history,
      messagesPerSecond: sized(200, 500),
    });

    const rounds = sized(1, 3);
    const downMs = sized(500, 3000);
    for (let round = 0; round < rounds; round += 1) {
      for (const node of nodes) {
        await pause(sized(500, 3000));
        await node.kill();
        await pause(downMs);
        await node.restart();
      }
    }
    await pause(500);
    await load.stop();

    const drained = await drain({ history, stats: await statsReader(balancer.url, QUEUE), timeoutMs: 30_000 });
    const figures = history.figures();
    report("node-sigkill", {
      nodes: 3,
      kills: rounds * nodes.length,
      ...figures,
      ...redeliveryFigures(history),
      visibilityMs,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
    // Every consumer kept consuming through the faults, reconnected to whichever node was up.
    for (const consumer of consumers) expect(consumer.received()).toBeGreaterThan(0);
  });

  it("keeps each group's order and loses nothing when each node in turn is SIGKILLed under grouped load", async () => {
    const visibilityMs = 2000;
    const queue = "chaos-groups";
    const { redis, prefix, nodes, balancer } = await startChaosCluster(3);
    const history = new History();
    const consumers = [];
    for (let index = 0; index < 3; index += 1) {
      consumers.push(
        await startConsumer({ name: `g${index}`, url: balancer.url, queue, history, visibilityMs, handleMs: 5 }),
      );
    }
    const groups = 20;
    const load = startLoad({
      urls: [balancer.url, balancer.url],
      queue,
      history,
      messagesPerSecond: sized(200, 500),
      idPrefix: "grouped",
      // Two messages in three have a group (of 20), the rest none: both kinds share the rotation.
      groupOf: (sequence) => (sequence % 3 === 0 ? undefined : `group-${sequence % groups}`),
    });
    for (const node of nodes) {
      await pause(sized(500, 3000));
      await node.kill();
      await pause(sized(500, 3000));
      await node.restart();
    }
    await pause(500);
    await load.stop();

    const drained = await drain({ history, stats: await statsReader(balancer.url, queue), timeoutMs: 30_000 });
    const figures = history.figures();
    const order = history.groupOrderViolations();
    report("node-sigkill-groups", {
      nodes: 3,
      kills: nodes.length,
      groups: order.groups,
      groupOrderViolations: order.violations,
      ...figures,
      ...redeliveryFigures(history),
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    expect(order, `first deliveries out of their group's order: ${JSON.stringify(order.sample)}`).toMatchObject({
      groups,
      violations: 0,
    });
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, queue)).toEqual(EMPTY);
    // Nothing of the groups is left behind: no group counted, none out, nothing ready elsewhere.
    const client = new Redis(redis.url);
    const [readyKey, , , , , countersKey] = new RedisKeys(prefix).queueScriptKeys("/", queue) as string[];
    const base = (readyKey as string).slice(0, -":ready".length);
    expect(await client.exists(`${base}:groups`, `${base}:out`, `${base}:group-delays`, `${base}:in-turns`)).toBe(0);
    expect(Number((await client.hget(countersKey as string, "readyElsewhere")) ?? 0)).toBe(0);
    client.disconnect();
  });

  it("redelivers at once what a consumer process held when it was SIGKILLed before acking", async () => {
    const { redis, prefix, nodes } = await startChaosCluster(2);
    const [nodeA, nodeB] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const history = new History();
    // A long lease: a redelivery within it can only come from the node ending the leases at the disconnect.
    const visibilityMs = 30_000;
    const prefetch = 10;
    await spawnConsumer({ name: "survivor", url: nodeB.url, queue: QUEUE, history, visibilityMs, handleMs: 2 });
    const load = startLoad({ urls: [nodeA.url, nodeB.url], queue: QUEUE, history, messagesPerSecond: sized(200, 400) });

    const kills = sized(2, 6);
    const redeliverMs: number[] = [];
    for (let round = 0; round < kills; round += 1) {
      const name = `doomed-${round}`;
      const doomed = await spawnConsumer({
        name,
        url: nodeA.url,
        queue: QUEUE,
        history,
        visibilityMs,
        prefetch,
        hold: true,
      });
      await waitFor(() => doomed.received() === prefetch, { what: `${name} to hold ${prefetch} deliveries` });
      const held = history.allDeliveries().filter((delivery) => delivery.consumer === name);
      const killedAt = Date.now();
      await doomed.kill();
      const redelivered = await waitFor(
        () => {
          const again = held.map((delivery) =>
            history.deliveriesOf(delivery.id).find((later) => later.consumer !== name && later.at >= killedAt),
          );
          return again.every((delivery) => delivery !== undefined) ? again : undefined;
        },
        { timeoutMs: 15_000, what: `the ${prefetch} messages ${name} held to be delivered again` },
      );
      redeliverMs.push(Math.max(...redelivered.map((delivery) => (delivery?.at ?? 0) - killedAt)));
      expect(redelivered.map((delivery) => delivery?.attempt)).toEqual(held.map((delivery) => delivery.attempt + 1));
    }
    await load.stop();

    const drained = await drain({ history, stats: await statsReader(nodeB.url, QUEUE), timeoutMs: 20_000 });
    const figures = history.figures();
    report("consumer-sigkill", {
      kills,
      heldPerKill: prefetch,
      ...figures,
      redeliverAfterKillMs: redeliverMs,
      visibilityMs,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    // Released at the disconnect, long before the lease would have ended.
    expect(Math.max(...redeliverMs)).toBeLessThan(visibilityMs / 2);
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
  });

  it("loses nothing through a rolling SIGTERM restart of every node under load; each exits 0 within 10 s", async () => {
    // Leases long enough that any redelivery within the run came from a node returning them, not expiry.
    const visibilityMs = 30_000;
    const { redis, prefix, nodes, balancer } = await startChaosCluster(3);
    const history = new History();
    for (let index = 0; index < 3; index += 1) {
      await startConsumer({ name: `c${index}`, url: balancer.url, queue: QUEUE, history, visibilityMs, handleMs: 20 });
    }
    const load = startLoad({
      urls: [balancer.url, balancer.url],
      queue: QUEUE,
      history,
      messagesPerSecond: sized(200, 500),
    });

    const exits: { code: number | null; exitMs: number; readyAfterSignal: number[] }[] = [];
    for (let round = 0; round < sized(1, 3); round += 1) {
      for (const node of nodes) {
        await pause(sized(500, 3000));
        const readiness = watchReadiness(node);
        const signalledAt = Date.now();
        const code = await node.stop();
        const exitMs = Date.now() - signalledAt;
        const statuses = await readiness.stop();
        const afterSignal = statuses.filter(({ at }) => at >= signalledAt).map(({ status }) => status);
        exits.push({ code, exitMs, readyAfterSignal: afterSignal });
        await node.restart();
      }
    }
    await pause(500);
    await load.stop();

    const drained = await drain({ history, stats: await statsReader(balancer.url, QUEUE), timeoutMs: 30_000 });
    const figures = history.figures();
    const redelivery = redeliveryFigures(history);
    report("rolling-sigterm", {
      nodes: 3,
      restarts: exits.length,
      ...figures,
      ...redelivery,
      exitMs: exits.map((exit) => exit.exitMs),
      // Each /readyz answer seen from the SIGTERM on (0: refused, the node had closed its port).
      readyzAfterSignal: [...new Set(exits.flatMap((exit) => exit.readyAfterSignal))].sort(),
      visibilityMs,
      drainMs: drained.drainMs,
    });
    expectSafe(figures);
    for (const exit of exits) {
      expect(exit.code).toBe(0);
      expect(exit.exitMs).toBeLessThan(10_000);
      // Once the node stopped being ready after its SIGTERM, it never answered ready again before exiting.
      const firstNotReady = exit.readyAfterSignal.findIndex((status) => status !== 200);
      if (firstNotReady >= 0) expect(exit.readyAfterSignal.slice(firstNotReady)).not.toContain(200);
    }
    // The draining nodes gave their consumers' unacked messages back: none waited for its lease to end.
    expect(redelivery.redeliverMaxMs).toBeLessThan(visibilityMs);
    expect(drained.stats).toEqual(EMPTY);
    expect(await redisQueueCounts(redis.url, prefix, QUEUE)).toEqual(EMPTY);
  });
});
