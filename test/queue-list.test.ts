/**
 * The queue list of docs/protocol.md §13: `GET /v1/namespaces/{ns}/queues` lists every queue of the namespace
 * that holds messages, has consumers or was sent to within 24 hours, with its stats, sorted by name, at
 * most 1000 (`truncated: true` beyond), from the queue registry: no SCAN, whatever else Redis holds, and
 * one listing per namespace per second on a node however often it is asked. On Redis against real node
 * processes (the registry's 24 hours are aged by writing old times into its hashes); on the memory engine
 * in process, with a clock the test moves.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { MemoryQueueEngine } from "../packages/server/src/engines/memory/memory-queue-engine.js";
import type { ConsumerCounts, NewMessage, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const EMPTY = { ready: 0, inflight: 0, delayed: 0, deadLettered: 0, consumers: 0, groups: 0 };

interface ListedQueue {
  name: string;
  ready: number;
  inflight: number;
  delayed: number;
  deadLettered: number;
  consumers: number;
}

interface QueueList {
  queues: ListedQueue[];
  truncated: boolean;
}

async function list(node: NodeHandle, namespace: string): Promise<QueueList> {
  const response = await fetch(`${node.url}/v1/namespaces/${namespace}/queues`);
  expect(response.status).toBe(200);
  return (await response.json()) as QueueList;
}

const names = (listed: QueueList) => listed.queues.map((queue) => queue.name);

async function post(node: NodeHandle, path: string, body: unknown): Promise<Response> {
  const response = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return response;
}

function send(node: NodeHandle, namespace: string, queue: string, message: Record<string, unknown> = { data: 1 }) {
  return post(node, `/v1/namespaces/${namespace}/queues/${queue}/messages`, message);
}

/** Receives one message over HTTP and acks it (requeue false: nacks it into the `.dlq` instead). */
async function settleOne(node: NodeHandle, namespace: string, queue: string, how: "ack" | "deadLetter") {
  const path = `/v1/namespaces/${namespace}/queues/${queue}`;
  const received = (await (await post(node, `${path}/receive`, {})).json()) as { messages: { receipt: string }[] };
  const [message] = received.messages;
  expect(message).toBeDefined();
  if (how === "ack") await post(node, `${path}/ack`, { receipts: [message?.receipt] });
  else await post(node, `${path}/nack`, { receipt: message?.receipt, requeue: false });
}

/** A Redis of the test's own, a node on it, and a client to look inside, once the registry is built. */
async function nodeOnRedis(args: string[] = []): Promise<{ node: NodeHandle; admin: Redis; prefix: string }> {
  const redis = await startRedis();
  const prefix = freshPrefix();
  const node = await startNode({ redisUrl: redis.url, prefix, args });
  const admin = new Redis(redis.url);
  onCleanup(() => void admin.disconnect());
  await waitFor(async () => (await admin.exists(`${prefix}:{cluster}:queue-registry-built`)) === 1, {
    what: "the queue registry's migration to finish",
  });
  return { node, admin, prefix };
}

/** How many times Redis ran `command` (INFO commandstats). */
async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info("commandstats");
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info);
  return match ? Number(match[1]) : 0;
}

/** How many times the node ran a Lua script, from its own Redis latency histogram. */
async function scriptCalls(node: NodeHandle, script: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((row) => row.startsWith("mailroom_redis_command_duration_seconds_count{") && row.includes(`"${script}"`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("the queue list on Redis", () => {
  it("lists the namespace's queues sorted by name with their stats, and no other namespace's", async () => {
    const { node } = await nodeOnRedis();
    await send(node, "shop", "c-queue");
    await send(node, "shop", "c-queue");
    await send(node, "shop", "a-queue", { data: 1, delayMs: 60_000 });
    await send(node, "shop", "b.queue:1");
    await send(node, "other", "elsewhere");
    expect(await list(node, "shop")).toEqual({
      queues: [
        { ...EMPTY, name: "a-queue", delayed: 1 },
        { ...EMPTY, name: "b.queue:1", ready: 1 },
        { ...EMPTY, name: "c-queue", ready: 2 },
      ],
      truncated: false,
    });
    expect(names(await list(node, "other"))).toEqual(["elsewhere"]);
    expect(names(await list(node, "_"))).toEqual([]);
  });

  it("lists a queue sent to within 24 hours after a consumer drained it", async () => {
    const { node } = await nodeOnRedis();
    await send(node, "shop", "drained");
    await settleOne(node, "shop", "drained", "ack");
    expect(await list(node, "shop")).toEqual({ queues: [{ ...EMPTY, name: "drained" }], truncated: false });
  });

  it("lists a queue that has only a consumer, and no longer once the consumer is gone", async () => {
    const { node } = await nodeOnRedis();
    const consumer = await connectSocket(node.url, "/idle");
    await command(consumer, "queue:consume", { queue: "watched" });
    const listed = await waitFor(
      async () => {
        const { queues } = await list(node, "idle");
        return queues[0]?.consumers === 1 && queues;
      },
      { what: "the consumed queue in the list" },
    );
    expect(listed).toEqual([{ ...EMPTY, name: "watched", consumers: 1 }]);
    consumer.disconnect();
    await waitFor(async () => (await list(node, "idle")).queues.length === 0, { what: "the queue to leave the list" });
  });

  it("lists a .dlq that holds dead letters from a nack", async () => {
    const { node } = await nodeOnRedis();
    await send(node, "shop", "email");
    await settleOne(node, "shop", "email", "deadLetter");
    expect(await list(node, "shop")).toEqual({
      queues: [
        { ...EMPTY, name: "email", deadLettered: 1 },
        { ...EMPTY, name: "email.dlq", ready: 1 },
      ],
      truncated: false,
    });
  });

  it("lists a .dlq that holds dead letters from a lease that ended in a sweep", async () => {
    const { node } = await nodeOnRedis();
    await send(node, "shop", "fragile", { data: 1, maxAttempts: 1 });
    await post(node, "/v1/namespaces/shop/queues/fragile/receive", { visibilityMs: 1000 });
    await waitFor(async () => names(await list(node, "shop")).includes("fragile.dlq"), {
      what: "the .dlq in the list once the lease ended",
    });
    const listed = await list(node, "shop");
    expect(listed.queues.find((queue) => queue.name === "fragile.dlq")).toEqual({
      ...EMPTY,
      name: "fragile.dlq",
      ready: 1,
    });
  });

  it("forgets a queue that holds nothing and was last sent to more than 24 hours ago", async () => {
    const { node, admin, prefix } = await nodeOnRedis();
    await send(node, "aged", "drained-long-ago");
    await settleOne(node, "aged", "drained-long-ago", "ack");
    await send(node, "aged", "full-since-long-ago");
    const registry = `${prefix}:queue-registry:{/aged}`;
    const longAgo = Date.now() - DAY_MS - 60_000;
    for (const queue of ["drained-long-ago", "full-since-long-ago"]) {
      await admin.hset(`${registry}:sent`, queue, longAgo);
      await admin.hset(`${registry}:seen`, queue, longAgo);
    }
    expect(names(await list(node, "aged"))).toEqual(["full-since-long-ago"]);
    expect(await admin.zrange(`${registry}:names`, 0, -1)).toEqual(["full-since-long-ago"]);
    expect(await admin.hkeys(`${registry}:sent`)).toEqual(["full-since-long-ago"]);
  });

  it("lists at most 1000 queues, the first by name, with truncated: true", async () => {
    const { node } = await nodeOnRedis();
    const producer = await connectSocket(node.url, "/many");
    const queues = Array.from({ length: 1001 }, (_, index) => `q-${String(index).padStart(4, "0")}`);
    const replies = await Promise.all(queues.map((queue) => command(producer, "queue:send", { queue, data: 1 })));
    expect(replies.every((reply) => reply.ok)).toBe(true);
    const listed = await list(node, "many");
    expect(listed.truncated).toBe(true);
    expect(names(listed)).toEqual(queues.slice(0, 1000));
    expect(listed.queues[999]).toEqual({ ...EMPTY, name: "q-0999", ready: 1 });
  });

  it("runs no SCAN to list, however many unrelated keys Redis holds", async () => {
    const { node, admin } = await nodeOnRedis();
    await send(node, "shop", "orders");
    const pipeline = admin.pipeline();
    for (let index = 0; index < 50_000; index += 1) pipeline.set(`another-app:key:${index}`, index);
    await pipeline.exec();
    const scansBefore = await commandCalls(admin, "scan");
    expect(names(await list(node, "shop"))).toEqual(["orders"]);
    expect(names(await list(node, "elsewhere"))).toEqual([]);
    expect(await commandCalls(admin, "scan")).toBe(scansBefore);
  });

  it("computes a namespace's list at most once a second, however often it is asked", async () => {
    // One queue with depth gauges: the stats scripts counted are the listings' (20 per listing), plus one.
    const { node } = await nodeOnRedis(["--metrics-max-queues", "1"]);
    for (let index = 0; index < 20; index += 1) await send(node, "busy", `queue-${index}`);
    const statsBefore = await scriptCalls(node, "queueStats");
    const started = performance.now();
    let answered = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() - started < 1500) {
          expect((await list(node, "busy")).queues).toHaveLength(20);
          answered += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const statsReads = (await scriptCalls(node, "queueStats")) - statsBefore;
    expect(answered).toBeGreaterThan(40);
    const listings = Math.ceil(seconds) + 1;
    const depthReads = listings + 1;
    expect(statsReads).toBeGreaterThanOrEqual(20);
    expect(statsReads).toBeLessThanOrEqual(listings * 20 + depthReads);
  });

  it("builds the registry once, at start, from the queues made before it", async () => {
    const { node, admin, prefix } = await nodeOnRedis();
    await send(node, "legacy", "tenant:7:messages");
    await send(node, "legacy", "email");
    await settleOne(node, "legacy", "email", "deadLetter");
    const consumer = await connectSocket(node.url, "/legacy");
    await command(consumer, "queue:consume", { queue: "consumed" });
    await waitFor(async () => names(await list(node, "legacy")).includes("consumed"), { what: "the consumer" });
    // What a deployment from before the registry holds: queues, and no registry or marker.
    const marker = `${prefix}:{cluster}:queue-registry-built`;
    const registry = `${prefix}:queue-registry:{/legacy}`;
    await admin.del(`${registry}:names`, `${registry}:sent`, `${registry}:seen`, marker);

    const scans = await commandCalls(admin, "scan");
    const upgraded = await startNode({ redisUrl: `redis://127.0.0.1:${admin.options.port}`, prefix });
    await waitFor(async () => (await admin.exists(marker)) === 1, { what: "the migration" });
    expect(await commandCalls(admin, "scan")).toBeGreaterThan(scans);
    // The drained "email" holds nothing and was never registered again: only what holds messages or consumers.
    expect(names(await list(upgraded, "legacy"))).toEqual(["consumed", "email.dlq", "tenant:7:messages"]);

    // Once built, a starting node looks at the marker (EXISTS) and scans nothing.
    const scansAfter = await commandCalls(admin, "scan");
    const markerChecks = await commandCalls(admin, "exists");
    await upgraded.restart();
    await waitFor(async () => (await commandCalls(admin, "exists")) > markerChecks, { what: "the marker check" });
    expect(await commandCalls(admin, "scan")).toBe(scansAfter);
  });
});

describe("the queue list on the memory engine", () => {
  const noConsumers: ConsumerCounts = async (_namespace, queues) => queues.map(() => 0);

  function createEngine(clock = { time: 1_700_000_000_000 }): MemoryQueueEngine {
    const engine = new MemoryQueueEngine({ dedupWindowMs: 60_000, now: () => clock.time });
    onCleanup(() => engine.close());
    return engine;
  }

  function message(id: string): NewMessage {
    return { id, chosenByProducer: false, body: Buffer.from(id), delayMs: 0, ttlMs: 0, maxAttempts: 5 };
  }

  const at = (namespace: string, queue: string): QueueAddress => ({ namespace, queue });

  it("lists the namespace's queues sorted by name, and no other namespace's", async () => {
    const engine = createEngine();
    for (const queue of ["c", "a", "b.dlq", "B"]) await engine.send(at("/shop", queue), [message(queue)]);
    await engine.send(at("/other", "elsewhere"), [message("x")]);
    const listed = await engine.listQueues("/shop", noConsumers);
    expect(listed.truncated).toBe(false);
    expect(listed.queues.map((queue) => queue.name)).toEqual(["B", "a", "b.dlq", "c"]);
    expect(listed.queues[0]).toEqual({ ...EMPTY, name: "B", ready: 1, sent: 1, acked: 0 });
  });

  it("lists a drained queue for 24 hours after its last send, then forgets it", async () => {
    const clock = { time: 1_700_000_000_000 };
    const engine = createEngine(clock);
    const queue = at("/", "drained");
    await engine.send(queue, [message("one")]);
    const { leases } = await engine.receive(queue, 1, 60_000);
    await engine.ack(
      queue,
      leases.map((lease) => lease.receipt),
    );
    clock.time += DAY_MS - 1;
    expect((await engine.listQueues("/", noConsumers)).queues).toEqual([
      { ...EMPTY, name: "drained", sent: 1, acked: 1 },
    ]);
    clock.time += 1;
    expect((await engine.listQueues("/", noConsumers)).queues).toEqual([]);
    // Forgotten, not merely hidden: a send lists it again from then on.
    await engine.send(queue, [message("two")]);
    expect((await engine.listQueues("/", noConsumers)).queues).toEqual([
      { ...EMPTY, name: "drained", ready: 1, sent: 2, acked: 1 },
    ]);
  });

  it("lists a queue that has only a consumer", async () => {
    const engine = createEngine();
    engine.watch(at("/", "watched"), () => {});
    const consumers: ConsumerCounts = async (_namespace, queues) =>
      queues.map((queue) => (queue === "watched" ? 2 : 0));
    expect((await engine.listQueues("/", consumers)).queues).toEqual([
      { ...EMPTY, name: "watched", consumers: 2, sent: 0, acked: 0 },
    ]);
  });

  it("lists a .dlq that holds dead letters", async () => {
    const engine = createEngine();
    const queue = at("/", "email");
    await engine.send(queue, [message("one")]);
    const { leases } = await engine.receive(queue, 1, 60_000);
    await engine.nack(queue, leases[0]?.receipt ?? "", false, 0);
    expect((await engine.listQueues("/", noConsumers)).queues).toEqual([
      { ...EMPTY, name: "email", deadLettered: 1, sent: 1, acked: 0 },
      { ...EMPTY, name: "email.dlq", ready: 1, sent: 0, acked: 0 },
    ]);
  });

  it("lists at most 1000 queues, the first by name, with truncated: true", async () => {
    const engine = createEngine();
    const queues = Array.from({ length: 1001 }, (_, index) => `q-${String(index).padStart(4, "0")}`);
    for (const queue of [...queues].reverse()) await engine.send(at("/", queue), [message(queue)]);
    const listed = await engine.listQueues("/", noConsumers);
    expect(listed.truncated).toBe(true);
    expect(listed.queues.map((queue) => queue.name)).toEqual(queues.slice(0, 1000));
  });
});
