/**
 * Mailroom on a Redis Cluster (3 masters + 3 replicas) and on Redis with Sentinel (docs/protocol.md §14),
 * real processes all: `redis-server` binaries, nodes from the built CLI, stock `socket.io-client`s, HTTP.
 * - Every capability on each: rooms across nodes, queues across nodes (delay, nack, lease end,
 *   dead-lettering), the HTTP API, metrics, the queue list (§13), drain.
 * - The cluster's traps: rooms on many slots joined, left and joined again (one SSUBSCRIBE per channel,
 *   socket.io-redis-adapter#500); a remote `socket.emit` and `io.to(socketId)` with the sharded adapter
 *   (#524); the stock emitter, which reaches the classic adapter only; `SCRIPT FLUSH` on every master
 *   under load (EVALSHA falls back to EVAL); `--redis-wait-replicas`.
 * - Failover (`npm run test:deployments`; the chaos checker runs the same faults in `npm test`'s quick
 *   chaos): a master SIGKILLed under load with `--redis-wait-replicas 1` loses nothing accepted, `/readyz`
 *   shows the outage and the nodes recover by themselves; Sentinel mode follows a failover with no restart.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Emitter } from "@socket.io/redis-emitter";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { Server } from "socket.io";
import { io as connectClient } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { createRedisStore } from "../packages/server/src/engines/redis/redis-store.js";
import type { MailroomServer } from "../packages/server/src/socket-types.js";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import {
  ALL_DEPLOYMENTS,
  type DeploymentKind,
  nodeOptionsOn,
  type RedisDeployment,
  sharedDeployment,
  startDeployment,
} from "./helpers/redis-deployments.js";
import { collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

interface Delivery {
  queue: string;
  id: string;
  receipt: string;
  data: unknown;
  attempt: number;
  reason?: string;
}

async function twoNodes(deployment: RedisDeployment, extraArgs: string[] = []): Promise<[NodeHandle, NodeHandle]> {
  const options = nodeOptionsOn(deployment);
  const nodes = await startCluster(2, { ...options, args: [...options.args, ...extraArgs] });
  return nodes as [NodeHandle, NodeHandle];
}

/** A bare Socket.IO server whose adapter is a Mailroom store's (as a node wires it), on `deployment`. */
async function socketServerOnStore(deployment: RedisDeployment, prefix: string): Promise<{ io: Server; url: string }> {
  const store = createRedisStore({
    mode: deployment.kind,
    url: deployment.url,
    sentinelMaster: deployment.sentinelMaster,
    prefix,
    adapter: "sharded",
    adapterKey: "socket.io",
    commandTimeoutMs: 2000,
    waitReplicas: 0,
    history: { size: 100, ttlMs: 60_000 },
    heartbeatIntervalMs: 250,
    nodeTimeoutMs: 1500,
    dedupWindowMs: 1000,
    node: {
      id: Math.random().toString(16).slice(2),
      url: () => "",
      startedAt: Date.now(),
      connections: () => 0,
      namespaceSockets: () => ({}),
      health: () => ({ draining: false, eventLoopLagMs: 0 }),
    },
    logger: pino({ level: "silent" }),
  });
  const httpServer = createServer();
  const io = new Server(httpServer);
  store.attach(io as unknown as MailroomServer);
  await store.start();
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  onCleanup(async () => {
    io.close();
    await store.close();
  });
  await waitFor(async () => (await store.readiness.problem()) === undefined, { what: "the store ready" });
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
}

/** SCRIPT FLUSH on one server of a cluster: it forgets every script loaded into it. */
async function flushScripts(url: string): Promise<void> {
  const client = new Redis(url);
  try {
    await client.script("FLUSH");
  } finally {
    client.disconnect();
  }
}

async function http(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

// npm test runs them on a cluster; Sentinel (one Redis behind a name) with `npm run test:deployments`, and
// its failover in the quick chaos of npm test.
const CAPABILITY_DEPLOYMENTS: DeploymentKind[] = ALL_DEPLOYMENTS ? ["cluster", "sentinel"] : ["cluster"];

describe.each(CAPABILITY_DEPLOYMENTS)("every capability on Redis in %s mode", (kind) => {
  const deployment = sharedDeployment(kind);

  it("carries room broadcasts and queue messages between two nodes", async () => {
    const [one, two] = await twoNodes(await deployment());
    const member = await connectSocket(two.url);
    expect(await command(member, "room:join", { room: "lobby" })).toMatchObject({ ok: true });
    const publisher = await connectSocket(one.url);
    const arrival = nextEvent(member, "greeting");
    const published = await command(publisher, "room:publish", { room: "lobby", event: "greeting", data: { n: 1 } });
    expect((await arrival)[0]).toEqual({ n: 1 });
    expect((await arrival)[1]).toMatchObject({ room: "lobby", id: published.id });
    expect(await command(publisher, "room:members", { room: "lobby" })).toMatchObject({ ok: true, count: 1 });

    const consumer = await connectSocket(two.url);
    const deliveries = collect(consumer, "queue:message") as Array<[Delivery]>;
    await command(consumer, "queue:consume", { queue: "work", prefetch: 50, visibilityMs: 1000 });
    for (let n = 0; n < 20; n += 1) await command(publisher, "queue:send", { queue: "work", data: n });
    await command(publisher, "queue:send", { queue: "work", data: "later", delayMs: 500 });
    await waitFor(() => deliveries.length >= 21, { what: "21 deliveries across nodes, one delayed" });
    expect(deliveries.slice(0, 20).map(([message]) => message.data)).toEqual([...Array(20).keys()]);

    // One left unacked comes back when its lease ends; one nacked without requeue goes to the DLQ.
    const [held, rejected, ...rest] = deliveries.map(([message]) => message);
    if (!held || !rejected) throw new Error("no deliveries");
    expect(await command(consumer, "queue:nack", { queue: "work", receipt: rejected.receipt, requeue: false })).toEqual(
      {
        ok: true,
        deadLettered: true,
      },
    );
    const receipts = rest.map((message) => message.receipt);
    expect(await command(consumer, "queue:ack", { queue: "work", receipts })).toMatchObject({ acked: receipts.length });
    await waitFor(() => deliveries.some(([message]) => message.id === held.id && message.attempt === 2), {
      what: "the unacked message back after its lease",
    });
    const stats = await command(publisher, "queue:stats", { queue: "work" });
    expect(stats).toMatchObject({ ok: true, ready: 0, deadLettered: 1, consumers: 1 });
  });

  it("serves the HTTP API, the queue list, metrics and /readyz", async () => {
    const [one, two] = await twoNodes(await deployment());
    expect((await http(one.url, "POST", "/v1/namespaces/_/queues/emptied/messages", { data: 1 })).status).toBe(201);
    const received = await http(two.url, "POST", "/v1/namespaces/_/queues/emptied/receive", { max: 1, waitMs: 2000 });
    const [message] = received.body.messages as Array<{ receipt: string }>;
    const acked = await http(two.url, "POST", "/v1/namespaces/_/queues/emptied/ack", { receipts: [message?.receipt] });
    expect(acked.body).toEqual({ acked: 1, stale: [] });
    const consumer = await connectSocket(one.url);
    await command(consumer, "queue:consume", { queue: "only-consumed" });

    const listed = await waitFor(
      async () => {
        const { body } = await http(two.url, "GET", "/v1/namespaces/_/queues");
        const names = (body.queues as Array<{ name: string }>).map((queue) => queue.name);
        return names.includes("only-consumed") ? body : undefined;
      },
      { what: "the queue list to show a queue with only a consumer" },
    );
    expect(listed.queues).toEqual([
      expect.objectContaining({ name: "emptied", ready: 0, inflight: 0 }),
      expect.objectContaining({ name: "only-consumed", ready: 0, consumers: 1 }),
    ]);
    expect((await fetch(`${one.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${two.url}/metrics`)).text()).toContain("mailroom_");
  });

  it("drains on SIGTERM: the lease a consumer held goes back to the queue, and the node exits 0", async () => {
    const [one, two] = await twoNodes(await deployment());
    const consumer = await connectSocket(one.url);
    const delivered = nextEvent(consumer, "queue:message");
    await command(consumer, "queue:consume", { queue: "drained", visibilityMs: 60_000 });
    const producer = await connectSocket(two.url);
    await command(producer, "queue:send", { queue: "drained", data: "x" });
    await delivered;
    const started = Date.now();
    expect(await one.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await command(producer, "queue:stats", { queue: "drained" })).toMatchObject({ ready: 1, inflight: 0 });
  });
});

describe("the traps of a Redis Cluster", () => {
  const deployment = sharedDeployment("cluster");

  it("delivers to rooms on many slots after they are joined, left and joined again", async () => {
    const [one, two] = await twoNodes(await deployment());
    const member = await connectSocket(two.url);
    const publisher = await connectSocket(one.url);
    const rooms = Array.from({ length: 40 }, (_, index) => `room-${index}`);
    const got = collect(member, "tick");
    for (const round of [1, 2]) {
      for (const room of rooms) expect(await command(member, "room:join", { room })).toMatchObject({ ok: true });
      for (const room of rooms)
        await command(publisher, "room:publish", { room, event: "tick", data: `${round}:${room}` });
      await waitFor(() => got.length === rooms.length * round, { what: `round ${round}'s broadcasts in every room` });
      for (const room of rooms) expect(await command(member, "room:leave", { room })).toEqual({ ok: true });
    }
    expect(new Set(got.map(([data]) => data)).size).toBe(rooms.length * 2);
    expect(two.output()).not.toMatch(/CROSSSLOT/);
  });

  it("reaches a room through the stock emitter with --adapter classic, and through HTTP with the sharded adapter", async () => {
    const shared = await deployment();
    const seeds = (shared.cluster?.seedUrls ?? []).map((url) => new URL(url));
    const emitterClient = new Cluster(seeds.map(({ hostname, port }) => ({ host: hostname, port: Number(port) })));
    onCleanup(() => void emitterClient.disconnect());
    const classic = await startNode({ ...nodeOptionsOn(shared), args: [...shared.args, "--adapter", "classic"] });
    const member = await connectSocket(classic.url);
    await command(member, "room:join", { room: "news" });
    const viaEmitter = nextEvent(member, "headline");
    new Emitter(emitterClient).to("news").emit("headline", "from a worker");
    expect((await viaEmitter)[0]).toBe("from a worker");

    const sharded = await startNode(nodeOptionsOn(shared));
    const shardedMember = await connectSocket(sharded.url);
    await command(shardedMember, "room:join", { room: "news" });
    const viaHttp = nextEvent(shardedMember, "headline");
    const published = await http(sharded.url, "POST", "/v1/namespaces/_/rooms/news/publish", {
      event: "headline",
      data: "over HTTP",
    });
    expect(published.status).toBeLessThan(300);
    expect((await viaHttp)[0]).toBe("over HTTP");
  });

  it("keeps accepting sends while every master forgets its scripts (SCRIPT FLUSH: EVALSHA falls back to EVAL)", async () => {
    const shared = await deployment();
    const [one, two] = await twoNodes(shared);
    const consumer = await connectSocket(two.url);
    const ids = new Set<string>();
    consumer.on("queue:message", (message: Delivery) => {
      ids.add(message.id);
      consumer.emit("queue:ack", { queue: message.queue, receipt: message.receipt }, () => {});
    });
    for (const queue of ["flush-a", "flush-b", "flush-c"])
      await command(consumer, "queue:consume", { queue, prefetch: 100 });
    const producer = await connectSocket(one.url);
    const accepted: string[] = [];
    const failures: unknown[] = [];
    const sending = (async () => {
      for (let n = 0; n < 600; n += 1) {
        const reply = await command(producer, "queue:send", { queue: `flush-${"abc"[n % 3]}`, data: n });
        if (reply.ok) accepted.push(reply.id as string);
        else failures.push(reply);
        if (n === 200 || n === 400) {
          for (const master of (await shared.cluster?.mastersNow()) ?? []) await flushScripts(master.url);
        }
      }
    })();
    await sending;
    expect(JSON.stringify(failures)).toBe("[]");
    await waitFor(() => accepted.every((id) => ids.has(id)), { what: "every accepted message delivered" });
  });

  it("delivers io.to(socketId) and a remote socket.emit between servers with the sharded adapter (#524)", async () => {
    const shared = await deployment();
    const prefix = `sharded-${Date.now()}`;
    const [sender, holder] = [await socketServerOnStore(shared, prefix), await socketServerOnStore(shared, prefix)];
    const client = connectClient(holder.url, { transports: ["websocket"] });
    onCleanup(() => void client.close());
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    const [remote] = await waitFor(
      async () => {
        const sockets = await sender.io.fetchSockets();
        return sockets.length === 1 ? sockets : undefined;
      },
      { what: "the remote socket seen through the adapter" },
    );
    const direct = new Promise((resolve) => client.once("direct", resolve));
    remote?.emit("direct", "remote socket.emit");
    expect(await direct).toBe("remote socket.emit");
    const byId = new Promise((resolve) => client.once("by-id", resolve));
    sender.io.to(client.id ?? "").emit("by-id", "io.to(socketId)");
    expect(await byId).toBe("io.to(socketId)");
  });

  it("answers a send only once a replica holds it, and UNAVAILABLE when more replicas are asked for than exist", async () => {
    const shared = await deployment();
    const one = await startNode({ ...nodeOptionsOn(shared), args: [...shared.args, "--redis-wait-replicas", "1"] });
    const producer = await connectSocket(one.url);
    expect(await command(producer, "queue:send", { queue: "durable", data: 1 })).toMatchObject({ ok: true });

    const greedy = await startNode({
      ...nodeOptionsOn(shared),
      args: [...shared.args, "--redis-wait-replicas", "2", "--redis-command-timeout-ms", "300"],
    });
    const hopeful = await connectSocket(greedy.url);
    const reply = await command(hopeful, "queue:send", { queue: "durable", data: 2 });
    expect(reply).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(String((reply.error as { message: string }).message)).toMatch(/1 of 2 replicas/);
  });
});

// The same faults run with the chaos checker in test/chaos/redis-deployments.test.ts (quick form in npm test).
describe.skipIf(!ALL_DEPLOYMENTS)("failover", () => {
  it("loses nothing accepted when a master is SIGKILLed under load with --redis-wait-replicas 1", async () => {
    const shared = await startDeployment("cluster");
    const cluster = shared.cluster;
    if (!cluster) throw new Error("no cluster");
    const [one, two] = await twoNodes(shared, ["--redis-wait-replicas", "1"]);
    const queues = ["fo-a", "fo-b", "fo-c", "fo-d"];
    const consumer = await connectSocket(two.url);
    const delivered = new Set<unknown>();
    consumer.on("queue:message", (message: Delivery) => {
      delivered.add(message.data);
      consumer.emit("queue:ack", { queue: message.queue, receipt: message.receipt }, () => {});
    });
    for (const queue of queues) await command(consumer, "queue:consume", { queue, prefetch: 100, visibilityMs: 3000 });

    const notReady: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const status = await fetch(`${one.url}/readyz`).then(
          (response) => response.status,
          () => 0,
        );
        if (status !== 200) notReady.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const producer = await connectSocket(one.url);
    const accepted = new Set<string>();
    const victim = await cluster.masterFor("{/:fo-a}");
    let sent = 0;
    let lastFailure: unknown;
    const deadline = Date.now() + 60_000;
    while (sent < 800 && Date.now() < deadline) {
      const data = `m${sent}`;
      const reply = await command(producer, "queue:send", { queue: queues[sent % queues.length], data, id: data });
      if (reply.ok) {
        accepted.add(data);
        sent += 1;
      } else {
        lastFailure = reply;
        // UNAVAILABLE during the failover: retried with the same id, as RELIABILITY.md says.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (sent === 200 && victim.live()) {
        await victim.kill();
        // The operator's part: once its replica took over, the old master comes back (as a replica of its
        // successor), so writes to those slots can be copied again.
        void cluster.waitHealthy().then(() => victim.restart());
      }
    }
    expect({ sent, lastFailure }).toMatchObject({ sent: 800 });
    await waitFor(() => [...accepted].every((data) => delivered.has(data)), {
      timeoutMs: 30_000,
      what: "every accepted message delivered after the failover",
    });
    await waitFor(async () => (await fetch(`${one.url}/readyz`)).status === 200, { what: "node one ready again" });
    watching = false;
    await watcher;
    expect(notReady.length).toBeGreaterThan(0);
  }, 180_000);

  it("follows a Sentinel failover with no restart", async () => {
    const shared = await startDeployment("sentinel");
    const sentinel = shared.sentinel;
    if (!sentinel) throw new Error("no Sentinel set");
    const options = nodeOptionsOn(shared);
    // The first message is sent through a node that waits for the replica, so it survives the failover;
    // the other node (waiting for none: the promoted master has no replica left) must follow the failover.
    const durable = await startNode({ ...options, args: [...options.args, "--redis-wait-replicas", "1"] });
    const node = await startNode(options);
    const first = await connectSocket(durable.url);
    expect(await command(first, "queue:send", { queue: "s", data: 1 })).toMatchObject({ ok: true });
    const producer = await connectSocket(node.url);
    const old = await sentinel.killMaster();
    await sentinel.waitForFailover(old.port);
    await waitFor(async () => (await command(producer, "queue:send", { queue: "s", data: 2 })).ok === true, {
      timeoutMs: 30_000,
      what: "a send accepted by the promoted master",
    });
    await waitFor(async () => (await fetch(`${node.url}/readyz`)).status === 200, { what: "the node ready again" });
    expect(await command(producer, "queue:stats", { queue: "s" })).toMatchObject({ ok: true, ready: 2 });
  }, 120_000);
});
