/**
 * The queue semantics of docs/protocol.md §3–§5, written once and run against every engine (the pattern of
 * socket.io-redis-adapter's shared test suite): each engine's test file calls `queueConformance` with a
 * way to start two nodes. On Redis they are two processes on one Redis; on the memory engine, one node
 * serves as both, so "across nodes" there means "on the node".
 */

import type { QueueMessage } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import type { NodeHandle } from "../helpers/nodes.js";
import { type ClientSocket, command, connectSocket, nextEvent } from "../helpers/sockets.js";
import { waitFor } from "../helpers/wait.js";

/** What a consumer receives: the contract's `queue:message`. */
export type Delivery = QueueMessage;

/** Every `queue:message` the socket receives, as a live list. */
export function deliveries(socket: ClientSocket): Delivery[] {
  const received: Delivery[] = [];
  socket.on("queue:message", (message: Delivery) => received.push(message));
  return received;
}

export async function consume(socket: ClientSocket, args: Record<string, unknown>): Promise<string> {
  const reply = await command(socket, "queue:consume", args);
  expect(reply).toMatchObject({ ok: true, consumer: expect.any(String) });
  return reply.consumer;
}

export async function stats(socket: ClientSocket, queue: string) {
  const reply = await command(socket, "queue:stats", { queue });
  expect(reply.ok).toBe(true);
  return reply;
}

export type StartPair = () => Promise<[NodeHandle, NodeHandle]>;

export function queueConformance(engine: string, twoNodes: StartPair): void {
  describe(`queue semantics on the ${engine} engine`, () => {
    it("delivers 1,000 messages sent on node A once each, in order, to one consumer on node B", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      const consumer = await connectSocket(b.url);
      const received: number[] = [];
      const done = new Promise<void>((resolve) => {
        consumer.on("queue:message", (message: Delivery) => {
          received.push(message.data as number);
          command(consumer, "queue:ack", { queue: "jobs", receipt: message.receipt }).catch(() => {});
          if (received.length === 1000) resolve();
        });
      });
      await consume(consumer, { queue: "jobs", prefetch: 50 });
      for (let start = 0; start < 1000; start += 100) {
        const sends = Array.from({ length: 100 }, (_, offset) =>
          command(producer, "queue:send", { queue: "jobs", data: start + offset }),
        );
        for (const reply of await Promise.all(sends)) expect(reply).toMatchObject({ ok: true, duplicate: false });
      }
      await done;
      expect(received).toEqual(Array.from({ length: 1000 }, (_, index) => index));
      const final = await waitFor(async () => {
        const current = await stats(producer, "jobs");
        return current.ready === 0 && current.inflight === 0 ? current : undefined;
      });
      expect(final).toEqual({ ok: true, ready: 0, inflight: 0, delayed: 0, deadLettered: 0, consumers: 1, groups: 0 });
    });

    it("never holds more than prefetch unacked deliveries, and refills as they are acked", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      await command(producer, "queue:sendBatch", {
        queue: "capped",
        messages: Array.from({ length: 20 }, (_, index) => ({ data: index })),
      });
      const consumer = await connectSocket(b.url);
      const got = deliveries(consumer);
      await consume(consumer, { queue: "capped", prefetch: 3 });
      await waitFor(() => got.length === 3);
      // Give the node every chance to over-deliver: a stats round trip through both nodes.
      expect((await stats(producer, "capped")).inflight).toBe(3);
      expect(got.length).toBe(3);
      await command(consumer, "queue:ack", { queue: "capped", receipts: got.map((message) => message.receipt) });
      await waitFor(() => got.length === 6);
      expect((await stats(producer, "capped")).inflight).toBe(3);
    });

    it("requeues a disconnected consumer's deliveries at once, at the head, with attempt 2 and a new receipt", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      await command(producer, "queue:sendBatch", {
        queue: "work",
        messages: [{ data: "first" }, { data: "second" }, { data: "third" }],
      });
      const leaving = await connectSocket(b.url);
      const firstGot = deliveries(leaving);
      await consume(leaving, { queue: "work", prefetch: 2 });
      await waitFor(() => firstGot.length === 2);
      leaving.disconnect();
      // At once: both leases are back before anything else happens (a consumer that came sooner could take
      // "third" first, the only message ready until then).
      await waitFor(async () => (await stats(producer, "work")).ready === 3, {
        timeoutMs: 2000,
        what: "the leases back",
      });

      const next = await connectSocket(a.url);
      const nextGot = deliveries(next);
      await consume(next, { queue: "work", prefetch: 10 });
      await waitFor(() => nextGot.length === 3);
      expect(nextGot.map((message) => [message.data, message.attempt])).toEqual([
        ["first", 2],
        ["second", 2],
        ["third", 1],
      ]);
      expect(nextGot[0]!.receipt).not.toBe(firstGot[0]!.receipt);
      const stale = await command(next, "queue:ack", { queue: "work", receipt: firstGot[0]!.receipt });
      expect(stale).toEqual({ ok: true, acked: 0, stale: [firstGot[0]!.receipt] });
      const nack = await command(next, "queue:nack", { queue: "work", receipt: firstGot[1]!.receipt });
      expect(nack.error.code).toBe("NOT_FOUND");
      // The stale receipt changed nothing: the new delivery is still leased and acks.
      const acked = await command(next, "queue:ack", { queue: "work", receipts: nextGot.map((m) => m.receipt) });
      expect(acked).toEqual({ ok: true, acked: 3, stale: [] });
    });

    it("redelivers after the lease expires, and extend keeps a lease alive", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      await command(producer, "queue:send", { queue: "slow", data: "expires" });
      await command(producer, "queue:send", { queue: "slow", data: "extended" });
      const holder = await connectSocket(b.url);
      const got = deliveries(holder);
      await consume(holder, { queue: "slow", prefetch: 2, visibilityMs: 1000 });
      await waitFor(() => got.length === 2);
      const extended = got.find((message) => message.data === "extended")!;
      const extendReply = await command(holder, "queue:extend", {
        queue: "slow",
        receipt: extended.receipt,
        visibilityMs: 10_000,
      });
      expect(extendReply).toEqual({ ok: true });

      const other = await connectSocket(a.url);
      const otherGot = deliveries(other);
      await consume(other, { queue: "slow", prefetch: 5 });
      await waitFor(() => otherGot.length >= 1, { timeoutMs: 5000 });
      expect(otherGot.map((message) => [message.data, message.attempt])).toEqual([["expires", 2]]);
      expect(
        await command(holder, "queue:ack", { queue: "slow", receipts: [extended.receipt, got[0]!.receipt] }),
      ).toMatchObject({ acked: 1, stale: [got[0]!.receipt] });
    });

    it("nacks with requeue to the head, to the dead-letter queue, and dead-letters after maxAttempts", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      await command(producer, "queue:send", {
        queue: "tasks",
        id: "poison",
        data: "p",
        maxAttempts: 2,
        headers: { k: "v" },
      });
      await command(producer, "queue:send", { queue: "tasks", id: "rejected", data: "r" });
      const worker = await connectSocket(b.url);
      const got = deliveries(worker);
      await consume(worker, { queue: "tasks", prefetch: 1 });

      await waitFor(() => got.length === 1);
      expect(got[0]).toMatchObject({ id: "poison", attempt: 1 });
      expect(await command(worker, "queue:nack", { queue: "tasks", receipt: got[0]!.receipt })).toEqual({
        ok: true,
        deadLettered: false,
      });
      await waitFor(() => got.length === 2);
      expect(got[1]).toMatchObject({ id: "poison", attempt: 2 });
      expect(await command(worker, "queue:nack", { queue: "tasks", receipt: got[1]!.receipt })).toEqual({
        ok: true,
        deadLettered: true,
      });
      await waitFor(() => got.length === 3);
      expect(got[2]).toMatchObject({ id: "rejected", attempt: 1 });
      const rejected = await command(worker, "queue:nack", {
        queue: "tasks",
        receipt: got[2]!.receipt,
        requeue: false,
      });
      expect(rejected).toEqual({ ok: true, deadLettered: true });

      expect(await stats(producer, "tasks")).toMatchObject({ ready: 0, inflight: 0, deadLettered: 2 });
      const dlqWorker = await connectSocket(a.url);
      const dead = deliveries(dlqWorker);
      await consume(dlqWorker, { queue: "tasks.dlq", prefetch: 10 });
      await waitFor(() => dead.length === 2);
      expect(dead.map((message) => [message.id, message.reason, message.attempt, message.queue])).toEqual([
        ["poison", "maxAttempts", 1, "tasks.dlq"],
        ["rejected", "rejected", 1, "tasks.dlq"],
      ]);
      expect(dead[0]).toMatchObject({ data: "p", headers: { k: "v" }, enqueuedAt: got[0]!.enqueuedAt });
    });

    it("redrives the dead-letter queue to the tail of its queue, attempt from 1", async () => {
      const [a] = await twoNodes();
      const socket = await connectSocket(a.url);
      await command(socket, "queue:send", { queue: "orders", id: "o1", data: 1 });
      const got = deliveries(socket);
      const consumer = await consume(socket, { queue: "orders" });
      await waitFor(() => got.length === 1);
      await command(socket, "queue:nack", { queue: "orders", receipt: got[0]!.receipt, requeue: false });
      await command(socket, "queue:cancel", { consumer });
      expect(await stats(socket, "orders.dlq")).toMatchObject({ ready: 1 });

      expect(await command(socket, "queue:redrive", { queue: "orders" })).toEqual({ ok: true, moved: 1 });
      expect(await stats(socket, "orders")).toMatchObject({ ready: 1, deadLettered: 0 });
      await consume(socket, { queue: "orders" });
      await waitFor(() => got.length === 2);
      expect(got[1]).toMatchObject({ id: "o1", attempt: 1, data: 1 });
      expect(got[1]!.reason).toBeUndefined();
    });

    it("holds a delayed message back until it is due", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      const sentAt = Date.now();
      await command(producer, "queue:send", { queue: "later", data: "late", delayMs: 1500 });
      await command(producer, "queue:send", { queue: "later", data: "now" });
      expect(await stats(producer, "later")).toMatchObject({ ready: 1, delayed: 1 });
      const consumer = await connectSocket(b.url);
      const got = deliveries(consumer);
      await consume(consumer, { queue: "later", prefetch: 10 });
      await waitFor(() => got.length === 2, { timeoutMs: 6000 });
      expect(got.map((message) => message.data)).toEqual(["now", "late"]);
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
    });

    it("discards an expired message instead of delivering it", async () => {
      const [a] = await twoNodes();
      const socket = await connectSocket(a.url);
      await command(socket, "queue:send", { queue: "fresh", data: "stale", ttlMs: 1000, delayMs: 1200 });
      await command(socket, "queue:send", { queue: "fresh", data: "marker", delayMs: 1300 });
      const got = deliveries(socket);
      await consume(socket, { queue: "fresh" });
      await waitFor(() => got.length === 1, { timeoutMs: 6000 });
      expect(got.map((message) => message.data)).toEqual(["marker"]);
    });

    it("deduplicates an id while held and within the window, even sent on two nodes at once", async () => {
      const [a, b] = await twoNodes();
      const onA = await connectSocket(a.url);
      const onB = await connectSocket(b.url);
      const replies = await Promise.all([
        command(onA, "queue:send", { queue: "once", id: "same", data: "a" }),
        command(onB, "queue:send", { queue: "once", id: "same", data: "b" }),
      ]);
      expect(replies.map((reply) => reply.duplicate).sort()).toEqual([false, true]);
      expect((await stats(onA, "once")).ready).toBe(1);

      const got = deliveries(onB);
      await consume(onB, { queue: "once" });
      await waitFor(() => got.length === 1);
      await command(onB, "queue:ack", { queue: "once", receipt: got[0]!.receipt });
      // Acked, but still inside the dedup window.
      expect(await command(onA, "queue:send", { queue: "once", id: "same", data: "c" })).toEqual({
        ok: true,
        id: "same",
        duplicate: true,
      });
    });

    it("stores a batch all or nothing, and answers one result per message", async () => {
      const [a] = await twoNodes();
      const socket = await connectSocket(a.url);
      const refused = await command(socket, "queue:sendBatch", {
        queue: "batch",
        messages: [{ data: 1 }, { data: 2, id: "bad id!" }],
      });
      expect(refused.error.code).toBe("INVALID_NAME");
      expect((await stats(socket, "batch")).ready).toBe(0);
      const reply = await command(socket, "queue:sendBatch", {
        queue: "batch",
        messages: [{ data: 1, id: "x" }, { data: 2 }, { data: 3, id: "x" }],
      });
      expect(reply.results).toEqual([
        { id: "x", duplicate: false },
        { id: expect.any(String), duplicate: false },
        { id: "x", duplicate: true },
      ]);
      expect((await stats(socket, "batch")).ready).toBe(2);
    });

    it("shares a queue fairly between consumers on two nodes", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      const workers = [await connectSocket(a.url), await connectSocket(b.url)];
      const counts = [0, 0];
      workers.forEach((worker, index) => {
        worker.on("queue:message", (message: Delivery) => {
          counts[index]! += 1;
          setTimeout(
            () => command(worker, "queue:ack", { queue: "shared", receipt: message.receipt }).catch(() => {}),
            5,
          );
        });
      });
      for (const worker of workers) await consume(worker, { queue: "shared", prefetch: 5 });
      for (let batch = 0; batch < 4; batch += 1) {
        await command(producer, "queue:sendBatch", {
          queue: "shared",
          messages: Array.from({ length: 50 }, (_, index) => ({ data: batch * 50 + index })),
        });
      }
      await waitFor(() => counts[0]! + counts[1]! === 200, { timeoutMs: 20_000 });
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(40);
    });

    it("round-trips binary data and headers byte-exact", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, index) => (index * 7) % 256));
      await command(producer, "queue:send", { queue: "bin", data: bytes, headers: { "content-type": "x/y", é: "ü" } });
      const consumer = await connectSocket(b.url);
      const arrival = nextEvent(consumer, "queue:message");
      await consume(consumer, { queue: "bin" });
      const [message] = (await arrival) as [Delivery];
      expect(Buffer.isBuffer(message.data)).toBe(true);
      expect(Buffer.compare(message.data as Buffer, bytes)).toBe(0);
      expect(message.headers).toEqual({ "content-type": "x/y", é: "ü" });
    });

    it("delivers a pull's messages as one queue:messages event to a consumer with batch: true", async () => {
      const [a, b] = await twoNodes();
      const producer = await connectSocket(a.url);
      await command(producer, "queue:sendBatch", {
        queue: "batched",
        messages: Array.from({ length: 30 }, (_, index) => ({ id: `b${index}`, data: index })),
      });
      const consumer = await connectSocket(b.url);
      const single: unknown[] = [];
      consumer.on("queue:message", (message: unknown) => single.push(message));
      const arrays: Delivery[][] = [];
      consumer.on("queue:messages", (messages: Delivery[]) => arrays.push(messages));
      const consumerId = await consume(consumer, { queue: "batched", prefetch: 20, batch: true });
      await waitFor(() => arrays.flat().length === 20, { what: "twenty deliveries in queue:messages events" });
      expect(arrays.length).toBeLessThan(20);
      expect(single).toEqual([]);
      const first = arrays.flat();
      expect(first.map((message) => message.id)).toEqual(Array.from({ length: 20 }, (_, index) => `b${index}`));
      expect(first.every((message) => message.consumer === consumerId && message.attempt === 1)).toBe(true);
      await command(consumer, "queue:ack", { queue: "batched", receipts: first.map((message) => message.receipt) });
      await waitFor(() => arrays.flat().length === 30, { what: "the rest after the acks" });
      expect(single).toEqual([]);
    });
  });
}
