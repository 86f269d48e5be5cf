/**
 * The queue engine's guarantees (engines/queue-engine.ts, docs/protocol.md §3–§5), written once and run
 * in-process against every engine, as socket.io-redis-adapter runs one `testSuite(factory)` against every
 * adapter: each engine's test file calls `queueEngineSuite` with a factory that builds a started engine
 * and says how time passes for it. The memory engine's factory moves a fake clock, so its timed tests run
 * at once; the Redis engine's waits for Redis's clock (its sweep looks for due work every 200 ms), so every
 * lease, delay, TTL and dedup window here that must end within a test is the protocol's minimum, 1000 ms.
 * Timing is asserted by the engine's clock: never earlier than due, and at most `TIMING_SLACK_MS` late.
 * What is not here: what only one engine does (the memory engine's heap and footprint, its exact dedup
 * boundary: test/memory-queue-engine.test.ts), and what the node adds above the engine (consumers,
 * prefetch, sockets: test/conformance/queue-semantics.ts).
 */
import { MailroomError } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import type { Lease, NewMessage, QueueAddress, QueueEngine } from "../../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "../helpers/cleanup.js";

/** What a factory builds: a started engine, with the clock it runs on and a way to let that clock run. */
export interface QueueEngineHarness {
  readonly engine: QueueEngine;
  /** The engine's dedup window (ms); short enough for `advancePast` to outlast it in a test. */
  readonly dedupWindowMs: number;
  /** The engine's clock (ms since the epoch): what `enqueuedAt`, leases, delays and TTLs count by. */
  now(): number;
  /** Resolves once more than `ms` have passed on the engine's clock since the call. */
  advancePast(ms: number): Promise<void>;
  /**
   * Resolves with `check`'s first value that is neither undefined nor false, letting the engine's clock
   * run meanwhile (timed work then happens as it comes due); fails naming `what` when it never comes.
   */
  eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string): Promise<T>;
  /**
   * Watches the queue (`engine.watch`) and resolves, with the unsubscribe function, once wake-ups reach
   * `listener`: a wake-up the watch makes for itself (Redis hears one when its subscription stands) is
   * not passed on.
   */
  watch(address: QueueAddress, listener: () => void): Promise<() => void>;
  /** Closes the engine and whatever the factory started for it. */
  cleanup(): Promise<void>;
}

export type QueueEngineFactory = () => Promise<QueueEngineHarness>;

const JOBS: QueueAddress = { namespace: "/", queue: "jobs" };
const JOBS_DEAD_LETTERS: QueueAddress = { namespace: "/", queue: "jobs.dlq" };
/** Long enough that no lease ends, and no delay comes due, during a test unless the test means it to. */
const LONG_MS = 60_000;
/** The shortest visibility, delay and TTL the protocol allows: what a test waits for to end. */
const SHORT_MS = 1000;
/** How late timed work may be (docs/protocol.md §15: due on time, within a second). */
const TIMING_SLACK_MS = 1000;
/** A body of this size per message where the byte budget is measured. */
const BODY_BYTES = 100;

/** A message to store, with an id of its own and a body that names it. */
export function message(id: string, options: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    chosenByProducer: true,
    body: Buffer.from(`body of ${id}`),
    delayMs: 0,
    ttlMs: 0,
    maxAttempts: 5,
    priority: 0,
    ...options,
  };
}

/** A message of a group (docs/protocol.md §11), with a priority when given. */
export function grouped(id: string, group: string, priority = 0, options: Partial<NewMessage> = {}): NewMessage {
  return message(id, { group, priority, ...options });
}

function ids(leases: Lease[]): string[] {
  return leases.map((lease) => lease.id);
}

function only(leases: Lease[]): Lease {
  expect(leases).toHaveLength(1);
  return leases[0]!;
}

async function expectNotFound(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => expect.fail("expected NOT_FOUND"),
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(MailroomError);
  expect((error as MailroomError).code).toBe("NOT_FOUND");
}

/** A listener that counts its calls and notes when the last one came, by the engine's clock. */
function wakeupCounter(now: () => number) {
  const counter = {
    count: 0,
    lastAt: 0,
    listener: () => {
      counter.count += 1;
      counter.lastAt = now();
    },
  };
  return counter;
}

export function queueEngineSuite(name: string, factory: QueueEngineFactory): void {
  describe(`queue engine conformance: ${name}`, () => {
    async function setup() {
      const harness = await factory();
      onCleanup(() => harness.cleanup());
      const { engine } = harness;
      const receive = async (max = 100, address = JOBS, visibilityMs = LONG_MS) =>
        (await engine.receive(address, max, visibilityMs)).leases;
      return { ...harness, receive };
    }

    describe("sending and receiving", () => {
      it("delivers first deliveries in the order their sends were accepted, at attempt 1, with body and enqueuedAt", async () => {
        const { engine, receive, now } = await setup();
        const before = now();
        expect(await engine.send(JOBS, [message("a"), message("b")])).toEqual([false, false]);
        await engine.send(JOBS, [message("c")]);
        const after = now();
        const leases = await receive();
        expect(ids(leases)).toEqual(["a", "b", "c"]);
        for (const lease of leases) {
          expect(lease.attempt).toBe(1);
          expect(lease.reason).toBeUndefined();
          expect(lease.enqueuedAt).toBeGreaterThanOrEqual(before);
          expect(lease.enqueuedAt).toBeLessThanOrEqual(after);
          expect(lease.body.equals(Buffer.from(`body of ${lease.id}`))).toBe(true);
        }
        expect(new Set(leases.map((lease) => lease.receipt)).size).toBe(3);
      });

      it("stores a body byte for byte, whatever bytes it holds", async () => {
        const { engine, receive } = await setup();
        const body = Buffer.from([0, 0x7c, 0x4a, 0x42, 0xff, 0x0a, 0x7c, 0x7c, 0, 0x80, 0x3a]);
        await engine.send(JOBS, [message("binary", { body }), message("empty", { body: Buffer.alloc(0) })]);
        const [binary, empty] = await receive();
        expect(binary!.body.equals(body)).toBe(true);
        expect(empty!.body.length).toBe(0);
      });

      it("leases at most max messages per receive, tells how many stay ready, and never leases one twice", async () => {
        const { engine } = await setup();
        await engine.send(
          JOBS,
          ["a", "b", "c", "d", "e"].map((id) => message(id)),
        );
        const first = await engine.receive(JOBS, 2, LONG_MS);
        expect(ids(first.leases)).toEqual(["a", "b"]);
        expect(first.remaining).toBe(3);
        const rest = await engine.receive(JOBS, 10, LONG_MS);
        expect(ids(rest.leases)).toEqual(["c", "d", "e"]);
        expect(rest.remaining).toBe(0);
        expect(await engine.receive(JOBS, 10, LONG_MS)).toEqual({ leases: [], remaining: 0 });
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 5 });
      });

      it("receives nothing from a queue that was never sent to", async () => {
        const { engine } = await setup();
        expect(await engine.receive({ namespace: "/", queue: "nothing-here" }, 10, LONG_MS)).toEqual({
          leases: [],
          remaining: 0,
        });
      });

      it("keeps queues apart by name and by namespace", async () => {
        const { engine, receive } = await setup();
        const other = { namespace: "/", queue: "other" };
        const elsewhere = { namespace: "/orders", queue: "jobs" };
        await engine.send(JOBS, [message("in-jobs")]);
        await engine.send(other, [message("in-other")]);
        await engine.send(elsewhere, [message("in-orders")]);
        expect(ids(await receive(10, elsewhere))).toEqual(["in-orders"]);
        expect(ids(await receive(10, other))).toEqual(["in-other"]);
        expect(ids(await receive(10, JOBS))).toEqual(["in-jobs"]);
      });

      it("stops leasing once the leased messages' bytes reach the byte budget, and always leases the first", async () => {
        const { engine } = await setup();
        const body = Buffer.alloc(BODY_BYTES, 0x78);
        await engine.send(
          JOBS,
          ["a", "b", "c", "d", "e", "f", "g", "h"].map((id) => message(id, { body })),
        );
        const reached = await engine.receive(JOBS, 10, LONG_MS, 2 * BODY_BYTES);
        expect(ids(reached.leases)).toEqual(["a", "b"]);
        expect(reached.remaining).toBe(6);
        const oneByteShort = await engine.receive(JOBS, 10, LONG_MS, 2 * BODY_BYTES + 1);
        expect(ids(oneByteShort.leases)).toEqual(["c", "d", "e"]);
        expect(oneByteShort.remaining).toBe(3);
        const tiny = await engine.receive(JOBS, 10, LONG_MS, 1);
        expect(ids(tiny.leases)).toEqual(["f"]);
        const unbounded = await engine.receive(JOBS, 10, LONG_MS, 0);
        expect(ids(unbounded.leases)).toEqual(["g", "h"]);
      });
    });

    describe("acks and stale receipts", () => {
      it("acks current receipts once and lists the stale ones in their given order", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b")]);
        const [a, b] = await receive();
        const result = await engine.ack(JOBS, [a!.receipt, "no-such-receipt", b!.receipt, a!.receipt]);
        expect(result).toEqual({ acked: 2, stale: ["no-such-receipt", a!.receipt] });
        expect(await engine.ack(JOBS, [b!.receipt])).toEqual({ acked: 0, stale: [b!.receipt] });
        expect(await engine.stats(JOBS)).toEqual({
          ready: 0,
          inflight: 0,
          delayed: 0,
          deadLettered: 0,
          expired: 0,
          discarded: 0,
          groups: 0,
          sent: 2,
          acked: 2,
        });
      });

      it("answers NOT_FOUND to nack and extend of a stale receipt, changing nothing", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b")]);
        const [a] = await receive(1);
        await engine.ack(JOBS, [a!.receipt]);
        await expectNotFound(engine.nack(JOBS, a!.receipt, true, 0));
        await expectNotFound(engine.nack(JOBS, a!.receipt, false, 0));
        await expectNotFound(engine.extend(JOBS, a!.receipt, LONG_MS));
        await expectNotFound(engine.nack(JOBS, "malformed", false, 0));
        await expectNotFound(engine.extend({ namespace: "/", queue: "never-sent" }, "0a:x", LONG_MS));
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0, deadLettered: 0 });
      });

      it("treats the receipt of a lease that ended on its own as stale, changing nothing", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [message("a")]);
        const lease = only(await receive(1, JOBS, SHORT_MS));
        await eventually(async () => (await engine.stats(JOBS)).ready === 1, "the lease to end");
        expect(await engine.ack(JOBS, [lease.receipt])).toEqual({ acked: 0, stale: [lease.receipt] });
        await expectNotFound(engine.extend(JOBS, lease.receipt, LONG_MS));
        await expectNotFound(engine.nack(JOBS, lease.receipt, false, 0));
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0, deadLettered: 0 });
        expect(only(await receive(1))).toMatchObject({ id: "a", attempt: 2 });
      });
    });

    describe("nack, release and dead letters", () => {
      it("requeues a nacked message at the head, ahead of messages never delivered, with the next attempt", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b")]);
        const first = only(await receive(1));
        expect(await engine.nack(JOBS, first.receipt, true, 0)).toEqual({ deadLettered: false });
        const leases = await receive();
        expect(ids(leases)).toEqual(["a", "b"]);
        expect(leases.map((lease) => lease.attempt)).toEqual([2, 1]);
        expect(leases[0]!.receipt).not.toBe(first.receipt);
        expect((await engine.ack(JOBS, [first.receipt])).stale).toEqual([first.receipt]);
      });

      it("holds a message nacked with a delay, then puts it at the tail", async () => {
        const { engine, receive, now, eventually } = await setup();
        await engine.send(JOBS, [message("a")]);
        const lease = only(await receive());
        await engine.send(JOBS, [message("b")]);
        const nackedAt = now();
        expect(await engine.nack(JOBS, lease.receipt, true, SHORT_MS)).toEqual({ deadLettered: false });
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0, delayed: 1 });
        await eventually(async () => (await engine.stats(JOBS)).delayed === 0, "the delay to end");
        expect(now() - nackedAt).toBeGreaterThanOrEqual(SHORT_MS);
        expect(now() - nackedAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        const leases = await receive();
        expect(ids(leases)).toEqual(["b", "a"]);
        expect(leases[1]!.attempt).toBe(2);
      });

      it("moves a message nacked without requeue to <queue>.dlq with reason rejected, attempt 1, its body and enqueuedAt", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a", { maxAttempts: 3 })]);
        const first = only(await receive());
        await engine.nack(JOBS, first.receipt, true, 0);
        const second = only(await receive());
        expect(await engine.nack(JOBS, second.receipt, false, 0)).toEqual({ deadLettered: true });
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
        const dead = only(await receive(10, JOBS_DEAD_LETTERS));
        expect(dead).toMatchObject({ id: "a", attempt: 1, reason: "rejected", enqueuedAt: first.enqueuedAt });
        expect(dead.body.equals(Buffer.from("body of a"))).toBe(true);
        expect((await engine.stats(JOBS)).deadLettered).toBe(1);
      });

      it("dead-letters a message whose last attempt is nacked, with reason maxAttempts, even when the nack asks for a delay", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a", { maxAttempts: 2 }), message("b", { maxAttempts: 1 })]);
        const [a, b] = await receive();
        expect(await engine.nack(JOBS, a!.receipt, true, 0)).toEqual({ deadLettered: false });
        expect(await engine.nack(JOBS, b!.receipt, true, LONG_MS)).toEqual({ deadLettered: true });
        const again = only(await receive());
        expect(again).toMatchObject({ id: "a", attempt: 2 });
        expect(await engine.nack(JOBS, again.receipt, true, 0)).toEqual({ deadLettered: true });
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 0, delayed: 0, deadLettered: 2 });
        const dead = await receive(10, JOBS_DEAD_LETTERS);
        expect(dead.map((lease) => [lease.id, lease.attempt, lease.reason])).toEqual([
          ["b", 1, "maxAttempts"],
          ["a", 1, "maxAttempts"],
        ]);
      });

      it("discards and counts a message that dies in a dead-letter queue", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b", { maxAttempts: 1 })]);
        for (const lease of await receive()) await engine.nack(JOBS, lease.receipt, false, 0);
        const [a, b] = await receive(10, JOBS_DEAD_LETTERS);
        expect(await engine.nack(JOBS_DEAD_LETTERS, a!.receipt, false, 0)).toEqual({ deadLettered: false });
        expect(await engine.nack(JOBS_DEAD_LETTERS, b!.receipt, true, 0)).toEqual({ deadLettered: false });
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, inflight: 0, discarded: 2 });
        expect((await engine.stats(JOBS)).deadLettered).toBe(0);
        expect((await engine.stats({ namespace: "/", queue: "jobs.dlq.dlq" })).ready).toBe(0);
      });

      it("returns released leases to the head together, in acceptance order, ignoring stale receipts", async () => {
        const { engine, receive } = await setup();
        await engine.send(
          JOBS,
          ["a", "b", "c", "d"].map((id) => message(id)),
        );
        const [a, b, c] = await receive(3);
        await engine.release(JOBS, [c!.receipt, a!.receipt, "no-such-receipt"]);
        const leases = await receive();
        expect(ids(leases)).toEqual(["a", "c", "d"]);
        expect(leases.map((lease) => lease.attempt)).toEqual([2, 2, 1]);
        expect((await engine.ack(JOBS, [a!.receipt])).stale).toEqual([a!.receipt]);
        expect(await engine.ack(JOBS, [b!.receipt])).toEqual({ acked: 1, stale: [] });
      });

      it("keeps acceptance order across batches whose sequence numbers carry into a new digit", async () => {
        const { engine, receive } = await setup();
        // 9 + 1 + 13 + 8 new messages: acceptance numbers 1-31, each batch ending or starting at a carry. The
        // third batch also holds a duplicate of the first message (it takes no number) and mixes maxAttempts
        // and TTLs, whose text the store formats once per run of equal values.
        const sent: string[] = [];
        for (const size of [9, 1, 13, 8]) {
          const batch = Array.from({ length: size }, (_, offset) => `m${sent.length + offset}`);
          const messages = batch.map((id, offset) =>
            message(id, { maxAttempts: 3 + (offset % 2), ttlMs: offset % 3 === 0 ? 0 : 600_000 }),
          );
          if (size === 13) messages.splice(6, 0, message("m0"));
          const duplicates = await engine.send(JOBS, messages);
          expect(duplicates.filter(Boolean)).toHaveLength(size === 13 ? 1 : 0);
          sent.push(...batch);
        }
        const first = await receive(sent.length);
        expect(ids(first)).toEqual(sent);
        // Released in reverse, they come back in acceptance order: the store sorts them by their numbers.
        await engine.release(JOBS, first.map((lease) => lease.receipt).reverse());
        expect(ids(await receive(sent.length))).toEqual(sent);
      });

      it("gives back leases no consumer saw at the head, in acceptance order, with no attempt counted", async () => {
        const { engine, receive } = await setup();
        await engine.send(
          JOBS,
          ["a", "b", "c"].map((id) => message(id, { maxAttempts: 1 })),
        );
        const leases = await receive(2);
        await engine.giveBack(
          JOBS,
          LONG_MS,
          [...leases].reverse().map((lease) => lease.receipt),
        );
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 3, inflight: 0, deadLettered: 0 });
        const again = await receive();
        expect(again.map((lease) => [lease.id, lease.attempt])).toEqual([
          ["a", 1],
          ["b", 1],
          ["c", 1],
        ]);
        const stale = leases.map((lease) => lease.receipt);
        expect(await engine.ack(JOBS, stale)).toEqual({ acked: 0, stale });
      });

      it("dead-letters a released lease on its last attempt", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a", { maxAttempts: 1 })]);
        const lease = only(await receive());
        await engine.release(JOBS, [lease.receipt]);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
        expect(only(await receive(10, JOBS_DEAD_LETTERS))).toMatchObject({ id: "a", reason: "maxAttempts" });
      });
    });

    describe("leases that end on their own", () => {
      it("requeues expired leases at the head, in acceptance order, with the next attempt", async () => {
        const { engine, receive, now, eventually } = await setup();
        await engine.send(
          JOBS,
          ["a", "b", "c", "d"].map((id) => message(id)),
        );
        const receivedAt = now();
        const leases = await receive(3, JOBS, SHORT_MS);
        await eventually(async () => (await engine.stats(JOBS)).inflight === 0, "the leases to expire");
        expect(now() - receivedAt).toBeGreaterThanOrEqual(SHORT_MS);
        expect(now() - receivedAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        const stale = leases.map((lease) => lease.receipt);
        expect(await engine.ack(JOBS, stale)).toEqual({ acked: 0, stale });
        const again = await receive();
        expect(ids(again)).toEqual(["a", "b", "c", "d"]);
        expect(again.map((lease) => lease.attempt)).toEqual([2, 2, 2, 1]);
      });

      it("dead-letters a message whose last lease expires, with reason maxAttempts and attempt 1 again", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [message("a", { maxAttempts: 1 })]);
        const lease = only(await receive(1, JOBS, SHORT_MS));
        await eventually(async () => (await engine.stats(JOBS)).deadLettered === 1, "the dead letter");
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 0 });
        const dead = only(await receive(10, JOBS_DEAD_LETTERS));
        expect(dead).toMatchObject({ id: "a", attempt: 1, reason: "maxAttempts", enqueuedAt: lease.enqueuedAt });
      });

      it("ends a lease taken while an earlier one was in flight, on time, though the earlier one is acked", async () => {
        const { engine, receive, now, eventually } = await setup();
        await engine.send(JOBS, [message("first"), message("second")]);
        const first = only(await receive(1, JOBS, SHORT_MS));
        const receivedAt = now();
        only(await receive(1, JOBS, SHORT_MS));
        expect(await engine.ack(JOBS, [first.receipt])).toEqual({ acked: 1, stale: [] });
        await eventually(async () => (await engine.stats(JOBS)).ready === 1, "the second lease to expire");
        expect(now() - receivedAt).toBeGreaterThanOrEqual(SHORT_MS);
        expect(now() - receivedAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        expect(only(await receive())).toMatchObject({ id: "second", attempt: 2 });
      });

      it("ends a short lease taken while a longer one is in flight at its own deadline", async () => {
        const { engine, receive, now, eventually } = await setup();
        await engine.send(JOBS, [message("long"), message("short")]);
        only(await receive(1, JOBS, LONG_MS));
        const receivedAt = now();
        only(await receive(1, JOBS, SHORT_MS));
        await eventually(async () => (await engine.stats(JOBS)).ready === 1, "the short lease to expire");
        expect(now() - receivedAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        expect(await engine.stats(JOBS)).toMatchObject({ inflight: 1 });
        expect(only(await receive())).toMatchObject({ id: "short", attempt: 2 });
      });

      it("keeps an extended lease past its first deadline", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [message("kept"), message("witness")]);
        const [kept] = await receive(2, JOBS, SHORT_MS);
        await engine.extend(JOBS, kept!.receipt, LONG_MS);
        // Both leases had the same deadline: once the witness is back, that deadline has passed for both.
        await eventually(async () => (await engine.stats(JOBS)).ready === 1, "the witness's lease to expire");
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 1 });
        expect(await engine.ack(JOBS, [kept!.receipt])).toEqual({ acked: 1, stale: [] });
      });

      it("ends a lease shortened by extend at its new deadline, counted from the extend", async () => {
        const { engine, receive, now, eventually } = await setup();
        await engine.send(JOBS, [message("a")]);
        const lease = only(await receive(1, JOBS, LONG_MS));
        const extendedAt = now();
        await engine.extend(JOBS, lease.receipt, SHORT_MS);
        await eventually(async () => (await engine.stats(JOBS)).ready === 1, "the shortened lease to expire");
        expect(now() - extendedAt).toBeGreaterThanOrEqual(SHORT_MS);
        expect(now() - extendedAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        expect(only(await receive())).toMatchObject({ id: "a", attempt: 2 });
      });
    });

    describe("delays and TTLs", () => {
      it("holds a delayed message until its delay has passed, then puts it at the tail", async () => {
        const { engine, receive, now, eventually } = await setup();
        const sentAt = now();
        await engine.send(JOBS, [message("later", { delayMs: SHORT_MS }), message("now")]);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, delayed: 1 });
        await engine.send(JOBS, [message("after")]);
        expect(ids(await receive(1))).toEqual(["now"]);
        await eventually(async () => (await engine.stats(JOBS)).delayed === 0, "the delay to end");
        expect(now() - sentAt).toBeGreaterThanOrEqual(SHORT_MS);
        expect(now() - sentAt).toBeLessThanOrEqual(SHORT_MS + TIMING_SLACK_MS);
        expect(ids(await receive())).toEqual(["after", "later"]);
      });

      it("makes messages due at the same time ready in the order their sends were accepted", async () => {
        const { engine, receive, eventually } = await setup();
        const delayed = { delayMs: SHORT_MS };
        await engine.send(
          JOBS,
          ["m3", "m1", "m2", "m0"].map((id) => message(id, delayed)),
        );
        await eventually(async () => (await engine.stats(JOBS)).ready === 4, "the delays to end");
        expect(ids(await receive())).toEqual(["m3", "m1", "m2", "m0"]);
      });

      it("discards and counts a message met after its TTL has passed", async () => {
        const { engine, receive, advancePast } = await setup();
        await engine.send(JOBS, [message("short-lived", { ttlMs: SHORT_MS }), message("lasting", { ttlMs: LONG_MS })]);
        await advancePast(SHORT_MS);
        const result = await engine.receive(JOBS, 10, LONG_MS);
        expect(ids(result.leases)).toEqual(["lasting"]);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, expired: 1 });
        expect(await receive()).toEqual([]);
      });

      it("keeps no TTL on a message once it is dead-lettered", async () => {
        const { engine, receive, advancePast } = await setup();
        await engine.send(JOBS, [message("a", { ttlMs: SHORT_MS })]);
        await engine.nack(JOBS, only(await receive()).receipt, false, 0);
        await advancePast(SHORT_MS);
        expect(only(await receive(10, JOBS_DEAD_LETTERS))).toMatchObject({ id: "a", reason: "rejected" });
        expect((await engine.stats(JOBS_DEAD_LETTERS)).expired).toBe(0);
      });
    });

    describe("deduplication", () => {
      it("answers duplicate for a producer's id sent twice in one batch or again soon after, and stores it once", async () => {
        const { engine, receive } = await setup();
        expect(await engine.send(JOBS, [message("p"), message("p", { body: Buffer.from("other") })])).toEqual([
          false,
          true,
        ]);
        expect(await engine.send(JOBS, [message("q"), message("p")])).toEqual([false, true]);
        const leases = await receive();
        expect(ids(leases)).toEqual(["p", "q"]);
        expect(leases[0]!.body.equals(Buffer.from("body of p"))).toBe(true);
      });

      it("deduplicates a producer's id for the window after its first acceptance, then accepts it again", async () => {
        const { engine, receive, advancePast, dedupWindowMs } = await setup();
        expect(await engine.send(JOBS, [message("p")])).toEqual([false]);
        await engine.ack(JOBS, [only(await receive()).receipt]);
        expect(await engine.send(JOBS, [message("p")])).toEqual([true]);
        expect((await engine.stats(JOBS)).ready).toBe(0);
        await advancePast(dedupWindowMs);
        expect(await engine.send(JOBS, [message("p")])).toEqual([false]);
        expect((await engine.stats(JOBS)).ready).toBe(1);
      });

      it("keeps the id of a message the queue still holds a duplicate after the window has passed", async () => {
        const { engine, receive, advancePast, dedupWindowMs } = await setup();
        await engine.send(JOBS, [message("p"), message("q", { delayMs: LONG_MS })]);
        await advancePast(dedupWindowMs);
        expect(await engine.send(JOBS, [message("p"), message("q")])).toEqual([true, true]);
        const lease = only(await receive());
        expect(await engine.send(JOBS, [message("p")])).toEqual([true]);
        await engine.ack(JOBS, [lease.receipt]);
        expect(await engine.send(JOBS, [message("p")])).toEqual([false]);
      });

      it("does not deduplicate an id the server chose once its message is gone", async () => {
        const { engine, receive } = await setup();
        const serverChosen = { chosenByProducer: false };
        expect(await engine.send(JOBS, [message("s", serverChosen)])).toEqual([false]);
        await engine.ack(JOBS, [only(await receive()).receipt]);
        expect(await engine.send(JOBS, [message("s", serverChosen)])).toEqual([false]);
        expect((await engine.stats(JOBS)).ready).toBe(1);
      });
    });

    describe("purge, redrive, stats and the queue list", () => {
      it("purges ready and delayed messages and leaves those in flight", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b"), message("c", { delayMs: LONG_MS })]);
        const lease = only(await receive(1));
        expect(await engine.purge(JOBS)).toBe(2);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, delayed: 0 });
        expect(await engine.ack(JOBS, [lease.receipt])).toEqual({ acked: 1, stale: [] });
        expect(await engine.purge(JOBS)).toBe(0);
        expect(await engine.send(JOBS, [message("c")])).toEqual([true]);
      });

      it("redrives the ready and delayed messages of <queue>.dlq to the tail, attempt from 1 and no reason", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b"), message("c")]);
        for (const lease of await receive(3)) await engine.nack(JOBS, lease.receipt, false, 0);
        const [a, b, c] = await receive(3, JOBS_DEAD_LETTERS);
        await engine.nack(JOBS_DEAD_LETTERS, a!.receipt, true, 0);
        await engine.nack(JOBS_DEAD_LETTERS, b!.receipt, true, LONG_MS);
        await engine.send(JOBS, [message("fresh")]);
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 1, delayed: 1, inflight: 1 });

        expect(await engine.redrive(JOBS)).toBe(2);
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
        expect((await engine.stats(JOBS)).deadLettered).toBe(1);
        const leases = await receive();
        expect(ids(leases)).toEqual(["fresh", "a", "b"]);
        expect(leases.map((lease) => [lease.attempt, lease.reason])).toEqual([
          [1, undefined],
          [1, undefined],
          [1, undefined],
        ]);
        expect(await engine.ack(JOBS_DEAD_LETTERS, [c!.receipt])).toEqual({ acked: 1, stale: [] });
        expect(await engine.redrive(JOBS)).toBe(0);
      });

      it("leaves in <queue>.dlq, as they were, the dead letters whose ids the queue holds again", async () => {
        const { engine, receive } = await setup();
        const serverChosen = { chosenByProducer: false };
        await engine.send(JOBS, [message("a", serverChosen), message("b", serverChosen)]);
        for (const lease of await receive()) await engine.nack(JOBS, lease.receipt, false, 0);
        const [a, b] = await receive(2, JOBS_DEAD_LETTERS);
        await engine.release(JOBS_DEAD_LETTERS, [a!.receipt]);
        await engine.nack(JOBS_DEAD_LETTERS, b!.receipt, true, LONG_MS);
        await engine.send(JOBS, [message("a", serverChosen), message("b", serverChosen)]);
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 1, delayed: 1, inflight: 0 });

        expect(await engine.redrive(JOBS)).toBe(0);
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 1, delayed: 1, inflight: 0 });
        await engine.ack(
          JOBS,
          (await receive()).map((lease) => lease.receipt),
        );
        expect(await engine.redrive(JOBS)).toBe(2);
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, delayed: 0, inflight: 0 });
        expect(ids(await receive())).toEqual(["a", "b"]);
      });

      it("counts ready, in-flight and delayed messages and what <queue>.dlq holds", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("a"), message("b"), message("c"), message("d", { delayMs: LONG_MS })]);
        const [a] = await receive(2);
        await engine.nack(JOBS, a!.receipt, false, 0);
        await receive(1, JOBS_DEAD_LETTERS);
        expect(await engine.stats(JOBS)).toEqual({
          ready: 1,
          inflight: 1,
          delayed: 1,
          deadLettered: 1,
          expired: 0,
          discarded: 0,
          groups: 0,
          sent: 4,
          acked: 0,
        });
        expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, inflight: 1, deadLettered: 0 });
      });

      it("lists the namespace's queues by name with their stats and consumers, a .dlq once dead-lettered into", async () => {
        const { engine, receive, eventually } = await setup();
        const namespace = "/listed";
        await engine.send({ namespace, queue: "b" }, [message("b1")]);
        await engine.send({ namespace, queue: "a" }, [message("a1"), message("a2")]);
        await engine.send({ namespace: "/", queue: "not-listed" }, [message("x")]);
        const consumers = async (_namespace: string, queues: string[]) =>
          queues.map((queue) => (queue === "b" ? 3 : 0));
        const [a1] = await receive(1, { namespace, queue: "a" });
        await engine.nack({ namespace, queue: "a" }, a1!.receipt, false, 0);
        const listing = await eventually(async () => {
          const current = await engine.listQueues(namespace, consumers);
          return current.queues.length === 3 ? current : undefined;
        }, "the .dlq in the queue list");
        expect(listing).toEqual({
          truncated: false,
          queues: [
            {
              name: "a",
              ready: 1,
              inflight: 0,
              delayed: 0,
              deadLettered: 1,
              consumers: 0,
              groups: 0,
              sent: 2,
              acked: 0,
            },
            {
              name: "a.dlq",
              ready: 1,
              inflight: 0,
              delayed: 0,
              deadLettered: 0,
              consumers: 0,
              groups: 0,
              sent: 0,
              acked: 0,
            },
            {
              name: "b",
              ready: 1,
              inflight: 0,
              delayed: 0,
              deadLettered: 0,
              consumers: 3,
              groups: 0,
              sent: 1,
              acked: 0,
            },
          ],
        });
      });
    });

    describe("wake-ups", () => {
      it("wakes a watcher when a send makes messages ready", async () => {
        const { engine, watch, eventually, now } = await setup();
        const wakeups = wakeupCounter(now);
        await watch(JOBS, wakeups.listener);
        await engine.send(JOBS, [message("a")]);
        await eventually(() => wakeups.count > 0, "a wake-up after the send");
      });

      it("wakes a watcher when a nack or a release puts a message back", async () => {
        const { engine, receive, watch, eventually, now } = await setup();
        await engine.send(JOBS, [message("a")]);
        const first = only(await receive());
        const wakeups = wakeupCounter(now);
        await watch(JOBS, wakeups.listener);
        await engine.nack(JOBS, first.receipt, true, 0);
        await eventually(() => wakeups.count > 0, "a wake-up after the nack");
        const second = only(await receive());
        const afterNack = wakeups.count;
        await engine.release(JOBS, [second.receipt]);
        await eventually(() => wakeups.count > afterNack, "a wake-up after the release");
      });

      it("wakes a watcher when an expired lease puts its message back, not before", async () => {
        const { engine, receive, watch, eventually, now } = await setup();
        await engine.send(JOBS, [message("a")]);
        const wakeups = wakeupCounter(now);
        await watch(JOBS, wakeups.listener);
        const receivedAt = now();
        only(await receive(1, JOBS, SHORT_MS));
        await eventually(() => wakeups.count > 0, "a wake-up when the lease expires");
        expect(wakeups.lastAt - receivedAt).toBeGreaterThanOrEqual(SHORT_MS);
      });

      it("wakes a watcher when a delay ends, not before", async () => {
        const { engine, receive, watch, eventually, now } = await setup();
        await engine.send(JOBS, [message("a")]);
        const lease = only(await receive());
        const wakeups = wakeupCounter(now);
        await watch(JOBS, wakeups.listener);
        const nackedAt = now();
        await engine.nack(JOBS, lease.receipt, true, SHORT_MS);
        await eventually(() => wakeups.count > 0, "a wake-up when the delay ends");
        expect(wakeups.lastAt - nackedAt).toBeGreaterThanOrEqual(SHORT_MS);
      });

      it("wakes <queue>.dlq's watcher when a message is dead-lettered, and the queue's when it is redriven", async () => {
        const { engine, receive, watch, eventually, now } = await setup();
        await engine.send(JOBS, [message("a")]);
        const lease = only(await receive());
        const queueWakeups = wakeupCounter(now);
        const deadLetterWakeups = wakeupCounter(now);
        await watch(JOBS, queueWakeups.listener);
        await watch(JOBS_DEAD_LETTERS, deadLetterWakeups.listener);
        await engine.nack(JOBS, lease.receipt, false, 0);
        await eventually(() => deadLetterWakeups.count > 0, "a wake-up of the .dlq");
        expect(await engine.redrive(JOBS)).toBe(1);
        await eventually(() => queueWakeups.count > 0, "a wake-up after the redrive");
      });

      it("stops waking a watcher once it unwatches", async () => {
        const { engine, watch, eventually, now } = await setup();
        const stopped = wakeupCounter(now);
        const witness = wakeupCounter(now);
        const stopWatching = await watch(JOBS, stopped.listener);
        await watch(JOBS, witness.listener);
        stopWatching();
        await engine.send(JOBS, [message("a")]);
        await eventually(() => witness.count > 0, "the witness's wake-up");
        expect(stopped.count).toBe(0);
      });
    });

    describe("groups and priorities (§11)", () => {
      it("leases only the head of each group, in send order, and an ack lets the group's next go", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [grouped("a1", "A"), grouped("a2", "A"), grouped("b1", "B"), grouped("a3", "A")]);
        await engine.send(JOBS, [grouped("b2", "B")]);
        const first = await receive(10);
        expect(ids(first)).toEqual(["a1", "b1"]);
        expect(first.map((lease) => lease.group)).toEqual(["A", "B"]);
        expect(await receive(10)).toEqual([]);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 3, inflight: 2, groups: 2 });
        await engine.ack(JOBS, [first[0]!.receipt]);
        expect(ids(await receive(10))).toEqual(["a2"]);
        await engine.ack(JOBS, [first[1]!.receipt]);
        expect(ids(await receive(10))).toEqual(["b2"]);
      });

      it("reports nothing more to take while only a group out's messages wait, and wakes watchers when its ack frees the next", async () => {
        const { engine, watch, eventually } = await setup();
        await engine.send(JOBS, [grouped("a1", "A"), grouped("a2", "A")]);
        const first = await engine.receive(JOBS, 10, LONG_MS);
        expect([ids(first.leases), first.remaining]).toEqual([["a1"], 0]);
        expect(await engine.receive(JOBS, 10, LONG_MS)).toEqual({ leases: [], remaining: 0 });
        const woken = wakeupCounter(() => 0);
        await watch(JOBS, woken.listener);
        await engine.ack(JOBS, [first.leases[0]!.receipt]);
        await eventually(() => woken.count > 0, "a wake-up once a2 may go");
        expect(ids((await engine.receive(JOBS, 10, LONG_MS)).leases)).toEqual(["a2"]);
      });

      it("takes turns across groups: a one-message group goes in the first turn, beside 300 of another and 300 ungrouped", async () => {
        const { engine, receive } = await setup();
        await engine.send(
          JOBS,
          Array.from({ length: 300 }, (_, index) => grouped(`big-${index}`, "big")),
        );
        await engine.send(
          JOBS,
          Array.from({ length: 300 }, (_, index) => message(`plain-${index}`)),
        );
        await engine.send(JOBS, [grouped("small-0", "small")]);
        const leases = await receive(3);
        expect(ids(leases).sort()).toEqual(["big-0", "plain-0", "small-0"]);
        // The big group has one out: the ungrouped lane alone goes on.
        expect(ids(await receive(5))).toEqual(["plain-1", "plain-2", "plain-3", "plain-4", "plain-5"]);
        expect((await engine.stats(JOBS)).groups).toBe(2);
      });

      it("delivers a higher priority first, but never ahead of an earlier message of its own group", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("low"), message("high", { priority: 9 }), message("mid", { priority: 5 })]);
        await engine.send(JOBS, [grouped("g-low", "G", 0), grouped("g-high", "G", 9)]);
        const leases = await receive(10);
        expect(ids(leases)).toEqual(["high", "mid", "g-low", "low"]);
        expect(leases.map((lease) => lease.priority)).toEqual([9, 5, 0, undefined]);
        await engine.ack(JOBS, [leases[2]!.receipt]);
        const next = only(await receive(10));
        expect([next.id, next.group, next.priority]).toEqual(["g-high", "G", 9]);
      });

      it("is strict: a priority 0 message waits as long as higher ones keep coming", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [message("low")]);
        const order: string[] = [];
        for (let round = 0; round < 5; round += 1) {
          await engine.send(JOBS, [message(`high-${round}`, { priority: 1 })]);
          const lease = only(await receive(1));
          order.push(lease.id);
          await engine.ack(JOBS, [lease.receipt]);
        }
        expect(order).toEqual(["high-0", "high-1", "high-2", "high-3", "high-4"]);
        expect(ids(await receive(1))).toEqual(["low"]);
      });

      it("puts a nacked message back at the head of its group, with or without a delay, and holds the group meanwhile", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [grouped("a1", "A"), grouped("a2", "A")]);
        const a1 = only(await receive());
        await engine.nack(JOBS, a1.receipt, true, 0);
        const again = only(await receive());
        expect([again.id, again.attempt]).toEqual(["a1", 2]);
        await engine.nack(JOBS, again.receipt, true, SHORT_MS);
        // Delayed: the group waits for it, a2 does not overtake it.
        expect(await receive()).toEqual([]);
        const back = await eventually(async () => {
          const leases = await receive();
          return leases.length > 0 ? leases : undefined;
        }, "the delayed message to come back");
        expect(ids(back)).toEqual(["a1"]);
        await engine.ack(JOBS, [back[0]!.receipt]);
        expect(ids(await receive())).toEqual(["a2"]);
      });

      it("frees the group when its message is dead-lettered (rejected, or at its last attempt) and redrives it to the group's tail", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [
          grouped("a1", "A", 3, { maxAttempts: 2 }),
          grouped("a2", "A", 0, { maxAttempts: 2 }),
          grouped("a3", "A"),
        ]);
        const a1 = only(await receive());
        await engine.nack(JOBS, a1.receipt, false, 0);
        const a2 = only(await receive());
        expect(a2.id).toBe("a2");
        await engine.release(JOBS, [a2.receipt]);
        const again = only(await receive());
        expect([again.id, again.attempt]).toEqual(["a2", 2]);
        // Its last attempt: dead-lettered when its lease ends, and the group goes on.
        await engine.release(JOBS, [again.receipt]);
        const dead = await receive(10, JOBS_DEAD_LETTERS);
        expect(dead.map((lease) => [lease.id, lease.group, lease.priority, lease.reason])).toEqual([
          ["a1", "A", 3, "rejected"],
          ["a2", "A", 0, "maxAttempts"],
        ]);
        await engine.release(JOBS_DEAD_LETTERS, [dead[0]!.receipt]);
        await engine.ack(JOBS_DEAD_LETTERS, [dead[1]!.receipt]);
        expect(await engine.redrive(JOBS)).toBe(1);
        const a3 = only(await receive());
        expect(a3.id).toBe("a3");
        await engine.ack(JOBS, [a3.receipt]);
        const redriven = only(await receive());
        expect([redriven.id, redriven.group, redriven.attempt]).toEqual(["a1", "A", 1]);
      });

      it("frees the group when a lease expires (the message first again) or is given back (no attempt counted)", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [grouped("a1", "A"), grouped("a2", "A")]);
        const short = only(await engine.receive(JOBS, 10, SHORT_MS).then((result) => result.leases));
        await eventually(async () => (await engine.stats(JOBS)).inflight === 0, "the lease to expire");
        const again = only(await receive());
        expect([again.id, again.attempt]).toEqual(["a1", 2]);
        expect(short.id).toBe("a1");
        await engine.giveBack(JOBS, LONG_MS, [again.receipt]);
        const given = only(await receive());
        expect([given.id, given.attempt]).toEqual(["a1", 2]);
      });

      it("counts a group while it has a message ready, out or delayed, and no longer once its last is gone", async () => {
        const { engine, receive, eventually } = await setup();
        await engine.send(JOBS, [
          grouped("a1", "A", 0, { delayMs: SHORT_MS }),
          grouped("b1", "B"),
          grouped("c1", "C", 0, { delayMs: LONG_MS }),
        ]);
        expect((await engine.stats(JOBS)).groups).toBe(3);
        const b1 = only(await receive());
        expect((await engine.stats(JOBS)).groups).toBe(3);
        await engine.ack(JOBS, [b1.receipt]);
        expect((await engine.stats(JOBS)).groups).toBe(2);
        const a1 = await eventually(async () => (await receive())[0], "the delayed message to be due");
        expect(a1.id).toBe("a1");
        await engine.ack(JOBS, [a1.receipt]);
        expect((await engine.stats(JOBS)).groups).toBe(1);
        expect(await engine.purge(JOBS)).toBe(1);
        expect((await engine.stats(JOBS)).groups).toBe(0);
      });

      it("discards an expired head of a group and delivers the next in the same receive", async () => {
        const { engine, receive, advancePast } = await setup();
        await engine.send(JOBS, [grouped("old", "A", 0, { ttlMs: SHORT_MS })]);
        await engine.send(JOBS, [grouped("new", "A")]);
        await advancePast(SHORT_MS);
        expect(ids(await receive())).toEqual(["new"]);
        expect(await engine.stats(JOBS)).toMatchObject({ expired: 1, groups: 1 });
      });

      it("purges a group's waiting messages, keeps its message in flight out, and lets new sends flow after its ack", async () => {
        const { engine, receive } = await setup();
        await engine.send(JOBS, [
          grouped("a1", "A"),
          grouped("a2", "A"),
          grouped("b1", "B", 4),
          message("p", { priority: 2 }),
        ]);
        const first = await receive(1);
        expect(ids(first)).toEqual(["b1"]);
        expect(await engine.purge(JOBS)).toBe(3);
        expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, groups: 1 });
        await engine.send(JOBS, [grouped("b2", "B")]);
        expect(await receive()).toEqual([]);
        await engine.ack(JOBS, [first[0]!.receipt]);
        expect(ids(await receive())).toEqual(["b2"]);
      });
    });
  });
}
