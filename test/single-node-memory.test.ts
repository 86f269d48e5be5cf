/**
 * One node on the embedded memory engine, with no Redis anywhere (docs/protocol.md §3–§5, §9): rooms end to
 * end (meta, echo, members, leave, binary), queues end to end (order, prefetch, ack, stats, nack, dead
 * letters, delay, a disconnected consumer's leases), readiness and the startup banner, and a SIGTERM drain.
 */
import { connect } from "node:net";
import type { QueueMessage } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { type ClientSocket, collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

/** What a consumer receives: the contract's `queue:message`. */
type Delivery = QueueMessage;

/** Every `queue:message` the socket receives, as a live list. */
function deliveries(socket: ClientSocket): Delivery[] {
  const received: Delivery[] = [];
  socket.on("queue:message", (message: Delivery) => received.push(message));
  return received;
}

async function consume(socket: ClientSocket, args: Record<string, unknown>): Promise<string> {
  const reply = await command(socket, "queue:consume", args);
  expect(reply).toMatchObject({ ok: true, consumer: expect.any(String) });
  return reply.consumer;
}

async function stats(socket: ClientSocket, queue: string) {
  const reply = await command(socket, "queue:stats", { queue });
  expect(reply.ok).toBe(true);
  return reply;
}

async function joined(node: NodeHandle, room: string): Promise<ClientSocket> {
  const socket = await connectSocket(node.url);
  expect(await command(socket, "room:join", { room })).toMatchObject({ ok: true });
  return socket;
}

/** Resolves true when a TCP connection to the port is refused (or fails otherwise), false if it opens. */
function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("one node on the memory engine, no Redis", () => {
  describe("rooms", () => {
    it("delivers a publish to the other member with meta, not to the publisher without echo, and counts 2 members", async () => {
      const node = await startNode();
      const publisher = await joined(node, "lobby");
      const member = await joined(node, "lobby");
      const publisherGot = collect(publisher, "greeting");

      const members = await command(member, "room:members", { room: "lobby" });
      expect(members.ok).toBe(true);
      expect(members.count).toBe(2);
      expect(members.members.map((entry: { socket: string }) => entry.socket).sort()).toEqual(
        [publisher.id, member.id].sort(),
      );

      const arrival = nextEvent(member, "greeting");
      const before = Date.now();
      const reply = await command(publisher, "room:publish", { room: "lobby", event: "greeting", data: { hello: 1 } });
      expect(reply).toEqual({
        ok: true,
        id: expect.any(String),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      const [data, meta] = await arrival;
      expect(data).toEqual({ hello: 1 });
      expect(meta).toEqual({
        room: "lobby",
        id: reply.id,
        ts: expect.any(Number),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      expect((meta as { ts: number }).ts).toBeGreaterThanOrEqual(before - 1000);
      expect((meta as { ts: number }).ts).toBeLessThanOrEqual(Date.now() + 1000);

      // A second publish with echo reaches the publisher: proof that the first one would have, had it been sent.
      const echoed = nextEvent(publisher, "greeting");
      const memberSecond = nextEvent(member, "greeting");
      await command(publisher, "room:publish", { room: "lobby", event: "greeting", data: 2, echo: true });
      expect((await echoed)[0]).toBe(2);
      expect((await memberSecond)[0]).toBe(2);
      expect(publisherGot.map(([got]) => got)).toEqual([2]);
    });

    it("stops delivering to a socket that left the room, and no longer counts it", async () => {
      const node = await startNode();
      const leaver = await joined(node, "news");
      const stayer = await joined(node, "news");
      const leaverGot = collect(leaver, "story");
      expect(await command(leaver, "room:leave", { room: "news" })).toEqual({ ok: true });

      expect(await command(stayer, "room:members", { room: "news" })).toEqual({
        ok: true,
        count: 1,
        members: [{ socket: stayer.id }],
      });
      // The leaver publishes to the room it left: the stayer gets it, so the broadcast is done everywhere.
      const arrival = nextEvent(stayer, "story");
      await command(leaver, "room:publish", { room: "news", event: "story", data: "a", echo: true });
      expect((await arrival)[0]).toBe("a");
      const echoed = nextEvent(stayer, "story");
      await command(stayer, "room:publish", { room: "news", event: "story", data: "b", echo: true });
      expect((await echoed)[0]).toBe("b");
      expect(leaverGot).toEqual([]);
    });

    it("delivers binary data byte-exact, as binary", async () => {
      const node = await startNode();
      const member = await joined(node, "files");
      const publisher = await connectSocket(node.url);
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, index) => (index * 31 + 7) % 256));

      const arrival = nextEvent(member, "blob");
      expect(await command(publisher, "room:publish", { room: "files", event: "blob", data: bytes })).toMatchObject({
        ok: true,
      });
      const [data, meta] = await arrival;
      expect(Buffer.isBuffer(data)).toBe(true);
      expect(Buffer.compare(data as Buffer, bytes)).toBe(0);
      expect(meta).toMatchObject({ room: "files" });
    });
  });

  describe("queues", () => {
    it("delivers 100 messages in order, once each, within prefetch 10, and ends with empty stats", async () => {
      const node = await startNode();
      const producer = await connectSocket(node.url);
      for (let index = 0; index < 100; index += 1) {
        const reply = await command(producer, "queue:send", { queue: "jobs", data: index });
        expect(reply).toEqual({ ok: true, id: expect.any(String), duplicate: false });
      }
      expect(await stats(producer, "jobs")).toEqual({
        ok: true,
        ready: 100,
        inflight: 0,
        delayed: 0,
        deadLettered: 0,
        consumers: 0,
        groups: 0,
      });

      const consumer = await connectSocket(node.url);
      const received: Delivery[] = [];
      const acks: Promise<unknown>[] = [];
      let acksSent = 0;
      let mostUnacked = 0;
      const all = new Promise<void>((resolve) => {
        consumer.on("queue:message", (message: Delivery) => {
          received.push(message);
          // The node frees a slot only after it has an ack, so this bounds what it holds leased.
          mostUnacked = Math.max(mostUnacked, received.length - acksSent);
          if (received.length === 100) resolve();
          // Ack a little later, so the consumer does fill its prefetch.
          setTimeout(() => {
            acksSent += 1;
            acks.push(command(consumer, "queue:ack", { queue: "jobs", receipt: message.receipt }));
          }, 2);
        });
      });
      await consume(consumer, { queue: "jobs", prefetch: 10 });
      await waitFor(() => received.length === 100, { timeoutMs: 10_000, what: "100 deliveries" });
      await all;
      await waitFor(() => acks.length === 100, { what: "100 acks sent" });
      for (const ack of await Promise.all(acks)) expect(ack).toEqual({ ok: true, acked: 1, stale: [] });

      expect(received.map((message) => message.data)).toEqual(Array.from({ length: 100 }, (_, index) => index));
      expect(new Set(received.map((message) => message.id)).size).toBe(100);
      expect(new Set(received.map((message) => message.attempt))).toEqual(new Set([1]));
      expect(received.every((message) => message.queue === "jobs")).toBe(true);
      expect(mostUnacked).toBeLessThanOrEqual(10);
      expect(mostUnacked).toBeGreaterThanOrEqual(2);
      expect(await stats(producer, "jobs")).toEqual({
        ok: true,
        ready: 0,
        inflight: 0,
        delayed: 0,
        deadLettered: 0,
        consumers: 1,
        groups: 0,
      });
    });

    it("redelivers a nacked message with attempt 2, and dead-letters a rejected one with reason rejected", async () => {
      const node = await startNode();
      const socket = await connectSocket(node.url);
      const got = deliveries(socket);
      const consumer = await consume(socket, { queue: "tasks", prefetch: 1 });
      await command(socket, "queue:send", { queue: "tasks", id: "retry", data: "r", headers: { k: "v" } });
      await command(socket, "queue:send", { queue: "tasks", id: "reject", data: "x" });

      await waitFor(() => got.length === 1);
      expect(got[0]).toMatchObject({ id: "retry", attempt: 1, data: "r", headers: { k: "v" }, consumer });
      expect(await command(socket, "queue:nack", { queue: "tasks", receipt: got[0]!.receipt })).toEqual({
        ok: true,
        deadLettered: false,
      });
      await waitFor(() => got.length === 2);
      expect(got[1]).toMatchObject({ id: "retry", attempt: 2, data: "r", enqueuedAt: got[0]!.enqueuedAt });
      expect(got[1]!.receipt).not.toBe(got[0]!.receipt);
      expect(await command(socket, "queue:ack", { queue: "tasks", receipt: got[1]!.receipt })).toEqual({
        ok: true,
        acked: 1,
        stale: [],
      });

      await waitFor(() => got.length === 3);
      expect(got[2]).toMatchObject({ id: "reject", attempt: 1 });
      expect(await command(socket, "queue:nack", { queue: "tasks", receipt: got[2]!.receipt, requeue: false })).toEqual(
        { ok: true, deadLettered: true },
      );
      expect(await stats(socket, "tasks")).toMatchObject({ ready: 0, inflight: 0, delayed: 0, deadLettered: 1 });
      expect(await stats(socket, "tasks.dlq")).toMatchObject({ ready: 1, inflight: 0 });

      const dlqWorker = await connectSocket(node.url);
      const dead = deliveries(dlqWorker);
      await consume(dlqWorker, { queue: "tasks.dlq" });
      await waitFor(() => dead.length === 1);
      expect(dead[0]).toMatchObject({
        queue: "tasks.dlq",
        id: "reject",
        data: "x",
        attempt: 1,
        reason: "rejected",
        enqueuedAt: got[2]!.enqueuedAt,
      });
      expect(got.length).toBe(3);
    });

    it("holds a message sent with delayMs 1000 back for at least 1000 ms", async () => {
      const node = await startNode();
      const socket = await connectSocket(node.url);
      const got = deliveries(socket);
      await consume(socket, { queue: "later", prefetch: 10 });
      const sentAt = Date.now();
      expect(await command(socket, "queue:send", { queue: "later", data: "late", delayMs: 1000 })).toMatchObject({
        ok: true,
        duplicate: false,
      });
      const arrivals: number[] = [];
      socket.on("queue:message", () => arrivals.push(Date.now()));
      await command(socket, "queue:send", { queue: "later", data: "now" });
      await waitFor(() => got.length === 1);
      expect(got[0]!.data).toBe("now");
      expect(await stats(socket, "later")).toMatchObject({ delayed: 1, ready: 0 });

      await waitFor(() => got.length === 2, { timeoutMs: 5000, what: "the delayed message" });
      expect(got[1]).toMatchObject({ data: "late", attempt: 1 });
      expect(arrivals[1]! - sentAt).toBeGreaterThanOrEqual(1000);
    });

    it("gives a disconnected consumer's unacked messages to another consumer at once, attempt 2, in order", async () => {
      const node = await startNode();
      const producer = await connectSocket(node.url);
      const leaving = await connectSocket(node.url);
      const leavingGot = deliveries(leaving);
      // A long lease: only the disconnect can end it within the test.
      await consume(leaving, { queue: "work", prefetch: 3, visibilityMs: 60_000 });
      await command(producer, "queue:sendBatch", {
        queue: "work",
        messages: [{ data: "first" }, { data: "second" }, { data: "third" }],
      });
      await waitFor(() => leavingGot.length === 3);

      const next = await connectSocket(node.url);
      const nextGot = deliveries(next);
      await consume(next, { queue: "work", prefetch: 10 });
      expect(await stats(producer, "work")).toMatchObject({ ready: 0, inflight: 3, consumers: 2 });
      expect(nextGot).toEqual([]);

      const disconnectedAt = Date.now();
      leaving.disconnect();
      await waitFor(() => nextGot.length === 3, { timeoutMs: 5000, what: "the requeued messages" });
      expect(Date.now() - disconnectedAt).toBeLessThan(2000);
      expect(nextGot.map((message) => [message.data, message.attempt])).toEqual([
        ["first", 2],
        ["second", 2],
        ["third", 2],
      ]);
      expect(nextGot.map((message) => message.id)).toEqual(leavingGot.map((message) => message.id));
      const stale = await command(next, "queue:ack", { queue: "work", receipt: leavingGot[0]!.receipt });
      expect(stale).toEqual({ ok: true, acked: 0, stale: [leavingGot[0]!.receipt] });
      const acked = await command(next, "queue:ack", { queue: "work", receipts: nextGot.map((m) => m.receipt) });
      expect(acked).toEqual({ ok: true, acked: 3, stale: [] });
      expect(await stats(producer, "work")).toMatchObject({ ready: 0, inflight: 0, consumers: 1 });
    });
  });

  it("is ready on /readyz, and says at startup that it runs the memory engine and how to switch to Redis", async () => {
    const node = await startNode();
    const ready = await fetch(`${node.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
    const banner = await waitFor(() => node.output().includes("memory engine") && node.output(), {
      what: "the startup banner",
    });
    expect(banner).toContain("memory engine");
    expect(banner).toContain("--redis");
    expect(banner).not.toMatch(/redis engine \(cluster mode\)/i);
  });

  it("drains on SIGTERM with sockets and a consumer holding messages: exits 0 within 10 s, then refuses connections", async () => {
    const node = await startNode();
    const members = [await joined(node, "room"), await joined(node, "room")];
    const producer = await connectSocket(node.url);
    await command(producer, "queue:sendBatch", {
      queue: "drain",
      messages: Array.from({ length: 10 }, (_, index) => ({ data: index })),
    });
    const holder = await connectSocket(node.url);
    const held = deliveries(holder);
    await consume(holder, { queue: "drain", prefetch: 5 });
    await waitFor(() => held.length === 5);
    expect(await stats(producer, "drain")).toMatchObject({ ready: 5, inflight: 5, consumers: 1 });

    const disconnects = [...members, producer, holder].map((socket) => nextEvent(socket, "disconnect", 15_000));
    const startedAt = Date.now();
    const code = await node.stop();
    const elapsed = Date.now() - startedAt;
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    await Promise.all(disconnects);

    expect(await tcpConnects(node.port)).toBe(false);
    await expect(fetch(`${node.url}/readyz`)).rejects.toThrow();
    await expect(connectSocket(node.url)).rejects.toThrow();
  });
});
