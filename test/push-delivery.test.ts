/**
 * Push delivery on Redis (engines/queue-engine.ts, queue-send.lua): a receive that empties a queue leaves
 * its node's credit standing, and sends lease that many messages straight to the node. Two engines on one
 * Redis and prefix stand for two nodes: "a" sends, "b" consumes. What is proved: pushed leases are real
 * leases (acked, expired, counted in flight), order and credit hold, what a node cannot take goes back with
 * no attempt counted, and a node that is gone or withdrew is never pushed to. On a Redis Cluster
 * (`npm run test:deployments`) the pushes are sharded messages in the queue's slot.
 */

import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { PushedLeases, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "./helpers/cleanup.js";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import {
  deploymentClient,
  type RedisDeployment,
  SUITE_DEPLOYMENTS,
  sharedDeployment,
} from "./helpers/redis-deployments.js";
import { type EngineOnRedis, startRedisEngine } from "./helpers/redis-engine.js";
import { collect, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const JOBS: QueueAddress = { namespace: "/", queue: "jobs" };
const LONG_MS = 60_000;
const SHORT_MS = 1000;

function body(id: string) {
  return { id, chosenByProducer: true, body: Buffer.from(`body of ${id}`), delayMs: 0, ttlMs: 0, maxAttempts: 5 };
}

/** How many subscribers Redis counts on a channel (sharded channels: on every master, summed). */
async function subscribers(client: Redis | Cluster, channel: string): Promise<number> {
  if (!(client instanceof Cluster)) return ((await client.pubsub("NUMSUB", channel)) as [string, number])[1];
  const counts = await Promise.all(
    client.nodes("master").map(async (master) => {
      const reply = (await master.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number];
      return Number(reply[1]);
    }),
  );
  return counts.reduce((total, count) => total + count, 0);
}

describe.each(SUITE_DEPLOYMENTS)("push delivery on Redis in %s mode", (kind) => {
  const deployment = sharedDeployment(kind);

  /** Node "a" (sends) and node "b" (consumes, its pushes collected), on one Redis and prefix. */
  async function twoNodes() {
    const redis = await deployment();
    const prefix = freshPrefix();
    const start = async (nodeId: string) => {
      const node = await startRedisEngine(redis, { dedupWindowMs: 1000, nodeId, prefix });
      onCleanup(() => node.close());
      return node;
    };
    const [a, b] = await Promise.all([start("a"), start("b")]);
    const pushes: PushedLeases[] = [];
    let wakeUps = 0;
    const stopWatching = b.engine.watch(
      JOBS,
      () => {
        wakeUps += 1;
      },
      (delivery) => pushes.push(delivery),
    );
    await subscribed(redis, b, "b");
    return { redis, a, b, pushes, wakeUps: () => wakeUps, stopWatching };
  }

  /** Waits until Redis counts the node's subscriber on its push channel of the queue. */
  async function subscribed(redis: RedisDeployment, node: EngineOnRedis, nodeId: string) {
    const client = deploymentClient(redis);
    const channel = node.keys.pushChannel(JOBS.namespace, JOBS.queue, nodeId);
    await waitFor(async () => (await subscribers(client, channel)) === 1, { what: "the push channel's subscription" });
  }

  it("leases a send to a node whose pull emptied the queue, as far as its credit goes, in order", async () => {
    const { a, b, pushes } = await twoNodes();
    expect((await b.engine.receive(JOBS, 10, LONG_MS, 0, 3)).leases).toEqual([]);
    await a.engine.send(JOBS, ["m1", "m2", "m3", "m4", "m5"].map(body));

    await waitFor(() => pushes.length === 1, { what: "the push" });
    const [push] = pushes;
    expect(push?.visibilityMs).toBe(LONG_MS);
    expect(push?.leases.map((lease) => [lease.id, lease.attempt, lease.body.toString()])).toEqual([
      ["m1", 1, "body of m1"],
      ["m2", 1, "body of m2"],
      ["m3", 1, "body of m3"],
    ]);
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 2, inflight: 3 });
    // The credit is spent: the rest waits for a pull, in order.
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["m4", "m5"]);
    const receipts = push?.leases.map((lease) => lease.receipt) ?? [];
    expect(await b.engine.ack(JOBS, receipts)).toEqual({ acked: 3, stale: [] });
  });

  it("ends a pushed lease at its deadline like a pulled one", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 1, SHORT_MS, 0, 1);
    const sentAt = Date.now();
    await a.engine.send(JOBS, [body("m1")]);
    await waitFor(() => pushes.length === 1, { what: "the push" });

    await waitFor(async () => (await a.engine.stats(JOBS)).ready === 1, { what: "the pushed lease to end" });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(SHORT_MS);
    expect((await b.engine.receive(JOBS, 1, LONG_MS)).leases[0]).toMatchObject({ id: "m1", attempt: 2 });
    const stale = pushes[0]?.leases.map((lease) => lease.receipt) ?? [];
    expect(await b.engine.ack(JOBS, stale)).toEqual({ acked: 0, stale });
  });

  it("takes back what the node returns, at the head, with no attempt counted, and pushes it no more", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 2, LONG_MS, 0, 2);
    await a.engine.send(JOBS, [body("m1"), body("m2")]);
    await waitFor(() => pushes.length === 1, { what: "the push" });
    await a.engine.send(JOBS, [body("m3")]);

    await b.engine.giveBack(JOBS, LONG_MS, pushes[0]?.leases.map((lease) => lease.receipt) ?? []);
    const again = (await b.engine.receive(JOBS, 10, LONG_MS)).leases;
    expect(again.map((lease) => [lease.id, lease.attempt])).toEqual([
      ["m1", 1],
      ["m2", 1],
      ["m3", 1],
    ]);
    expect(pushes).toHaveLength(1);
  });

  it("pushes nothing once the node withdrew its credit, or its pull left messages ready", async () => {
    const { a, b, pushes, wakeUps } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    await b.engine.withdraw(JOBS, LONG_MS);
    await a.engine.send(JOBS, [body("m1"), body("m2")]);
    await waitFor(() => wakeUps() > 0, { what: "the wake-up" });

    // A pull that leaves m2 ready stands for nothing either.
    expect((await b.engine.receive(JOBS, 1, LONG_MS, 0, 1)).leases.map((lease) => lease.id)).toEqual(["m1"]);
    await a.engine.send(JOBS, [body("m3")]);
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 2, inflight: 1 });
    expect(pushes).toEqual([]);
  });

  it("leaves the messages ready and wakes the watchers when the standing node is gone", async () => {
    const { redis, a, b, pushes, stopWatching } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    stopWatching();
    const client = deploymentClient(redis);
    const channel = b.keys.pushChannel(JOBS.namespace, JOBS.queue, "b");
    await waitFor(async () => (await subscribers(client, channel)) === 0, {
      what: "b's push channel to be unsubscribed",
    });
    let woken = false;
    a.engine.watch(JOBS, () => {
      woken = true;
    });
    await waitFor(() => woken, { what: "a's watch to stand" });
    woken = false;

    await a.engine.send(JOBS, [body("m1")]);
    await waitFor(() => woken, { what: "the wake-up" });
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0 });
    expect(pushes).toEqual([]);
    const [, , , , , , , , , , standingKey] = a.keys.queueScriptKeys(JOBS.namespace, JOBS.queue);
    expect(await client.hlen(standingKey ?? "")).toBe(0);
  });

  it("hands ready messages out first: a send to a queue that holds some is not pushed", async () => {
    const { a, b, pushes } = await twoNodes();
    await a.engine.send(JOBS, [body("m1")]);
    // b's credit stands only while the queue is empty: set it as a pull would, with m1 still there.
    const [, , , , , , , , , , standingKey] = b.keys.queueScriptKeys(JOBS.namespace, JOBS.queue);
    await b.connections.command.hset(
      standingKey ?? "",
      b.keys.standingField("b", LONG_MS),
      `5|${Date.now() + LONG_MS}`,
    );
    await a.engine.send(JOBS, [body("m2")]);
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["m1", "m2"]);
    expect(pushes).toEqual([]);
  });

  it("gives back, with no attempt counted, a push heard after the queue's consumers went", async () => {
    const { redis, a, b, pushes, stopWatching } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    // The consumers went, but their credit still stands (its withdrawal is on its way): the channel is
    // still heard for a while, and what comes on it goes back.
    stopWatching();
    const channel = b.keys.pushChannel(JOBS.namespace, JOBS.queue, "b");
    const client = deploymentClient(redis);
    await waitFor(async () => (await subscribers(client, channel)) === 1, {
      timeoutMs: 2000,
      what: "the channel to be heard still",
    });
    await a.engine.send(JOBS, [body("m1")]);
    await waitFor(async () => (await a.engine.stats(JOBS)).ready === 1, { what: "the push to come back" });
    expect(pushes).toEqual([]);
    expect((await a.engine.receive(JOBS, 1, LONG_MS)).leases[0]).toMatchObject({ id: "m1", attempt: 1 });
  });

  it.runIf(kind === "standalone")(
    "answers a pull only once the node heard the push that came before it on its other connection",
    async () => {
      const { a, b, pushes } = await twoNodes();
      expect((await b.engine.receive(JOBS, 10, LONG_MS, 0, 3)).leases).toEqual([]);
      // The push reaches b's subscriber socket but is not read: as if it were still on its way.
      const subscriberSocket = (b.connections.subscriber as Redis).stream;
      subscriberSocket.pause();
      await a.engine.send(JOBS, ["m1", "m2", "m3"].map(body));
      await a.engine.send(JOBS, ["m4", "m5"].map(body));
      let pushesHeardAtReply = -1;
      const pulled = b.engine.receive(JOBS, 10, LONG_MS).then((result) => {
        pushesHeardAtReply = pushes.length;
        return result;
      });
      setTimeout(() => subscriberSocket.resume(), 200);
      expect((await pulled).leases.map((lease) => lease.id)).toEqual(["m4", "m5"]);
      expect(pushesHeardAtReply).toBe(1);
      expect(pushes[0]?.leases.map((lease) => lease.id)).toEqual(["m1", "m2", "m3"]);
    },
  );

  it.runIf(kind === "standalone")("answers a pull in the end when the push it waits for never comes", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 10, LONG_MS, 0, 1);
    const subscriberSocket = (b.connections.subscriber as Redis).stream;
    subscriberSocket.pause();
    onCleanup(() => {
      subscriberSocket.resume();
    });
    await a.engine.send(JOBS, ["m1", "m2"].map(body));
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["m2"]);
    expect(pushes).toEqual([]);
  });

  it("pushes no message bigger than a push may carry: it stays ready, and so does what follows it", async () => {
    const { a, b, pushes, wakeUps } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    const big = { ...body("big"), body: Buffer.alloc(300 * 1024, 97) };
    await a.engine.send(JOBS, [body("m1"), big, body("m2")]);
    await waitFor(() => pushes.length === 1 && wakeUps() > 0, { what: "the push of m1 and the wake-up" });
    expect(pushes[0]?.leases.map((lease) => lease.id)).toEqual(["m1"]);
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["big", "m2"]);
  });

  it("pushes the head of an idle group with its group out: the group's next waits for the ack", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    await a.engine.send(JOBS, [
      { ...body("m1"), group: "g1" },
      { ...body("m2"), group: "g1" },
      { ...body("m3"), group: "g2" },
      body("m4"),
    ]);
    await waitFor(() => pushes.length === 1, { what: "the push" });
    const pushed = pushes[0]?.leases ?? [];
    expect(pushed.map((lease) => [lease.id, lease.group, lease.attempt])).toEqual([
      ["m1", "g1", 1],
      ["m3", "g2", 1],
      ["m4", undefined, 1],
    ]);
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 3, groups: 2 });
    // g1 is out: its next goes only once m1 is settled, whoever pulls.
    expect((await a.engine.receive(JOBS, 10, LONG_MS)).leases).toEqual([]);
    expect(await b.engine.ack(JOBS, [pushed[0]?.receipt ?? ""])).toEqual({ acked: 1, stale: [] });
    expect((await a.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => [lease.id, lease.group])).toEqual([
      ["m2", "g1"],
    ]);
    expect(await b.engine.ack(JOBS, [pushed[1]?.receipt ?? "", pushed[2]?.receipt ?? ""])).toEqual({
      acked: 2,
      stale: [],
    });
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, groups: 1 });
  });

  it("takes back a pushed group's head at the head of its group, and frees the group", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 1, LONG_MS, 0, 1);
    await a.engine.send(JOBS, [{ ...body("m1"), group: "g1" }]);
    await waitFor(() => pushes.length === 1, { what: "the push" });
    await a.engine.send(JOBS, [{ ...body("m2"), group: "g1" }]);
    await b.engine.giveBack(JOBS, LONG_MS, pushes[0]?.leases.map((lease) => lease.receipt) ?? []);
    const again = await b.engine.receive(JOBS, 10, LONG_MS);
    expect(again.leases.map((lease) => [lease.id, lease.attempt])).toEqual([["m1", 1]]);
    const receipts = again.leases.map((lease) => lease.receipt);
    expect(await b.engine.ack(JOBS, receipts)).toEqual({ acked: 1, stale: [] });
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["m2"]);
  });

  it("pushes grouped messages only to nodes whose credit says they read them, as the previous release's does not", async () => {
    const { a, b, pushes } = await twoNodes();
    // b's credit as a node of the previous release writes it: no "|g" after it.
    const [, , , , , , , , , , standingKey] = b.keys.queueScriptKeys(JOBS.namespace, JOBS.queue);
    await b.connections.command.hset(
      standingKey ?? "",
      b.keys.standingField("b", LONG_MS),
      `5|${Date.now() + LONG_MS}`,
    );
    await a.engine.send(JOBS, [{ ...body("m1"), group: "g1" }, body("m2")]);
    await waitFor(() => pushes.length === 1, { what: "the push" });
    expect(pushes[0]?.leases.map((lease) => lease.id)).toEqual(["m2"]);
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual(["m1"]);
  });

  it("pushes no grouped message while messages are ready, nor any message of a batch with a priority", async () => {
    const { a, b, pushes } = await twoNodes();
    await b.engine.receive(JOBS, 5, LONG_MS, 0, 5);
    await a.engine.send(JOBS, [{ ...body("m1"), group: "g1" }, { ...body("m2"), priority: 3 }, body("m3")]);
    expect(pushes).toEqual([]);
    expect(await a.engine.stats(JOBS)).toMatchObject({ ready: 3, inflight: 0 });
    // m1's group waits in the rotation: a later send to an idle group goes behind it, not around it.
    await b.engine.receive(JOBS, 0, LONG_MS, 0, 5);
    await a.engine.send(JOBS, [{ ...body("m4"), group: "g2" }]);
    expect(pushes).toEqual([]);
    // Priority first, then a turn of the rotation: g1, g2, and the lane of plain messages.
    expect((await b.engine.receive(JOBS, 10, LONG_MS)).leases.map((lease) => lease.id)).toEqual([
      "m2",
      "m1",
      "m4",
      "m3",
    ]);
  });
});

/** Receive scripts Redis has run: each pops the ready list once (LPOP, counted inside scripts too). */
async function receives(admin: Redis): Promise<number> {
  return Number(/cmdstat_lpop:calls=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);
}

describe("push delivery between two nodes", () => {
  it("gives a consumer waiting on an empty queue no more than its prefetch, and all back when it goes", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const [nodeA, nodeB] = await Promise.all([
      startNode({ redisUrl: redis.url, prefix }),
      startNode({ redisUrl: redis.url, prefix }),
    ]);
    const consumer = await connectSocket(nodeB.url);
    const deliveries = collect(consumer, "queue:message");
    expect(await command(consumer, "queue:consume", { queue: "pushed", prefetch: 3 })).toMatchObject({ ok: true });
    const producer = await connectSocket(nodeA.url);
    const admin = new Redis(redis.url);
    onCleanup(() => void admin.disconnect());
    // One at a time: each send finds the queue empty while the consumer has room, so it is pushed: no
    // receive (the only script that pops the ready list) runs for them.
    // The consumer pulls when it starts and again when its subscriptions are in place: wait until it is done.
    await waitFor(async () => (await receives(admin)) > 0, { what: "the consumer's first pull" });
    let receivesBefore = await receives(admin);
    await waitFor(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const now = await receives(admin);
        const settled = now === receivesBefore;
        receivesBefore = now;
        return settled;
      },
      { what: "the consumer's pulls at start to be over" },
    );
    for (let index = 0; index < 3; index += 1) {
      expect(await command(producer, "queue:send", { queue: "pushed", data: index })).toMatchObject({ ok: true });
      await waitFor(() => deliveries.length === index + 1, { what: `delivery ${index}` });
    }
    expect(await receives(admin)).toBe(receivesBefore);
    for (let index = 3; index < 10; index += 1) {
      expect(await command(producer, "queue:send", { queue: "pushed", data: index })).toMatchObject({ ok: true });
    }
    expect(deliveries.map(([message]) => (message as { data: number }).data)).toEqual([0, 1, 2]);
    expect(await command(producer, "queue:stats", { queue: "pushed" })).toMatchObject({ ready: 7, inflight: 3 });

    consumer.disconnect();
    await waitFor(async () => (await command(producer, "queue:stats", { queue: "pushed" })).ready === 10, {
      what: "the leases to come back",
    });
  });
});
