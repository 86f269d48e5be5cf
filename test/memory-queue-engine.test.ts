/**
 * The memory queue engine against the guarantees of queue-engine.ts (docs/protocol.md §5), one behaviour per
 * test. Timed behaviour uses short leases and delays and waits for conditions; the dedup window and TTLs
 * use an injected clock.
 */
import { MailroomError } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import { MemoryQueueEngine } from "../packages/server/src/engines/memory/memory-queue-engine.js";
import type { Lease, NewMessage, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "./helpers/cleanup.js";
import { waitFor } from "./helpers/wait.js";

const JOBS: QueueAddress = { namespace: "/", queue: "jobs" };
const JOBS_DEAD_LETTERS: QueueAddress = { namespace: "/", queue: "jobs.dlq" };
/** Long enough that no lease ends during a test unless the test means it to. */
const LONG_VISIBILITY_MS = 60_000;
/** A lease short enough to watch it end: below the protocol's minimum, which the engine does not enforce. */
const SHORT_VISIBILITY_MS = 30;
const DEDUP_WINDOW_MS = 60_000;
/** How often conditions are polled: timed work here is due within tens of milliseconds. */
const POLL = { intervalMs: 5, timeoutMs: 5000 };

function createEngine(now?: () => number): MemoryQueueEngine {
  const engine = new MemoryQueueEngine({ dedupWindowMs: DEDUP_WINDOW_MS, now });
  onCleanup(() => engine.close());
  return engine;
}

/** A clock that moves only when the test moves it. */
function manualClock(start = 1_700_000_000_000) {
  const clock = { time: start, now: () => clock.time };
  return clock;
}

function message(id: string, options: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    chosenByProducer: true,
    body: Buffer.from(`body of ${id}`),
    delayMs: 0,
    ttlMs: 0,
    maxAttempts: 5,
    ...options,
  };
}

async function receive(engine: MemoryQueueEngine, max = 100, address = JOBS, visibilityMs = LONG_VISIBILITY_MS) {
  return (await engine.receive(address, max, visibilityMs)).leases;
}

function ids(leases: Lease[]): string[] {
  return leases.map((lease) => lease.id);
}

function only(leases: Lease[]): Lease {
  expect(leases).toHaveLength(1);
  return leases[0]!;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("MemoryQueueEngine", () => {
  it("delivers first deliveries in the order their sends were accepted", async () => {
    const clock = manualClock();
    const engine = createEngine(clock.now);
    await engine.send(JOBS, [message("a"), message("b")]);
    await engine.send(JOBS, [message("c")]);
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["a", "b", "c"]);
    const first = leases[0]!;
    expect(first.attempt).toBe(1);
    expect(first.enqueuedAt).toBe(clock.time);
    expect(first.body.equals(Buffer.from("body of a"))).toBe(true);
    expect(first.receipt).toMatch(/^[0-9a-f]+:a$/);
    expect(first.reason).toBeUndefined();
  });

  it("leases at most max messages per receive and tells how many stay ready", async () => {
    const engine = createEngine();
    await engine.send(
      JOBS,
      ["a", "b", "c", "d", "e"].map((id) => message(id)),
    );
    const first = await engine.receive(JOBS, 2, LONG_VISIBILITY_MS);
    expect(ids(first.leases)).toEqual(["a", "b"]);
    expect(first.remaining).toBe(3);
    const rest = await engine.receive(JOBS, 10, LONG_VISIBILITY_MS);
    expect(ids(rest.leases)).toEqual(["c", "d", "e"]);
    expect(rest.remaining).toBe(0);
    expect(await engine.receive(JOBS, 1, LONG_VISIBILITY_MS)).toEqual({ leases: [], remaining: 0 });
  });

  it("acks current receipts once and lists the stale ones in their given order", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b")]);
    const [a, b] = await receive(engine);
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
    });
  });

  it("answers NOT_FOUND to nack and extend of a stale receipt, changing nothing", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a")]);
    const lease = only(await receive(engine));
    await engine.ack(JOBS, [lease.receipt]);
    for (const attempt of [
      engine.nack(JOBS, lease.receipt, true, 0),
      engine.extend(JOBS, lease.receipt, LONG_VISIBILITY_MS),
      engine.nack(JOBS, "malformed", false, 0),
    ]) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(MailroomError);
      expect((error as MailroomError).code).toBe("NOT_FOUND");
    }
    expect((await engine.stats(JOBS)).ready).toBe(0);
  });

  it("requeues a nacked message at the head, ahead of messages never delivered, with the next attempt", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b")]);
    const first = only(await receive(engine, 1));
    expect(await engine.nack(JOBS, first.receipt, true, 0)).toEqual({ deadLettered: false });
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["a", "b"]);
    expect(leases.map((lease) => lease.attempt)).toEqual([2, 1]);
    expect(leases[0]!.receipt).not.toBe(first.receipt);
    expect((await engine.ack(JOBS, [first.receipt])).stale).toEqual([first.receipt]);
  });

  it("holds a message nacked with a delay, then puts it at the tail", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a")]);
    const lease = only(await receive(engine));
    await engine.send(JOBS, [message("b")]);
    const nackedAt = Date.now();
    await engine.nack(JOBS, lease.receipt, true, 50);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0, delayed: 1 });
    await waitFor(async () => (await engine.stats(JOBS)).delayed === 0, POLL);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(49);
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["b", "a"]);
    expect(leases[1]!.attempt).toBe(2);
  });

  it("moves a message nacked without requeue to <queue>.dlq with reason rejected, attempt 1 and its data", async () => {
    const clock = manualClock();
    const engine = createEngine(clock.now);
    await engine.send(JOBS, [message("a")]);
    const enqueuedAt = clock.time;
    clock.time += 1000;
    const lease = only(await receive(engine));
    expect(await engine.nack(JOBS, lease.receipt, false, 0)).toEqual({ deadLettered: true });
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
    const dead = only(await receive(engine, 10, JOBS_DEAD_LETTERS));
    expect(dead).toMatchObject({ id: "a", attempt: 1, reason: "rejected", enqueuedAt });
    expect(dead.body.equals(Buffer.from("body of a"))).toBe(true);
    expect((await engine.stats(JOBS)).deadLettered).toBe(1);
  });

  it("dead-letters a message whose last attempt ends without an ack, with reason maxAttempts", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a", { maxAttempts: 2 })]);
    const first = only(await receive(engine));
    expect(await engine.nack(JOBS, first.receipt, true, 0)).toEqual({ deadLettered: false });
    const second = only(await receive(engine));
    expect(second.attempt).toBe(2);
    expect(await engine.nack(JOBS, second.receipt, true, 0)).toEqual({ deadLettered: true });
    expect(only(await receive(engine, 10, JOBS_DEAD_LETTERS))).toMatchObject({
      id: "a",
      attempt: 1,
      reason: "maxAttempts",
    });
  });

  it("discards and counts a message that dies in a dead-letter queue", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b", { maxAttempts: 1 })]);
    for (const lease of await receive(engine)) await engine.nack(JOBS, lease.receipt, false, 0);
    const [a, b] = await receive(engine, 10, JOBS_DEAD_LETTERS);
    expect(await engine.nack(JOBS_DEAD_LETTERS, a!.receipt, false, 0)).toEqual({ deadLettered: false });
    expect(await engine.nack(JOBS_DEAD_LETTERS, b!.receipt, true, 0)).toEqual({ deadLettered: false });
    expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, inflight: 0, discarded: 2 });
    expect((await engine.stats(JOBS)).deadLettered).toBe(0);
    expect((await engine.stats({ namespace: "/", queue: "jobs.dlq.dlq" })).ready).toBe(0);
  });

  it("requeues a message at the head when its lease expires, with the next attempt", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b")]);
    const lease = only(await receive(engine, 1, JOBS, SHORT_VISIBILITY_MS));
    await waitFor(async () => (await engine.stats(JOBS)).inflight === 0, POLL);
    expect((await engine.ack(JOBS, [lease.receipt])).stale).toEqual([lease.receipt]);
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["a", "b"]);
    expect(leases[0]!.attempt).toBe(2);
  });

  it("keeps an extended lease past its first deadline", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("kept"), message("witness")]);
    const [kept] = await receive(engine, 2, JOBS, SHORT_VISIBILITY_MS);
    await engine.extend(JOBS, kept!.receipt, LONG_VISIBILITY_MS);
    // Both leases had the same deadline: once the witness is back, that deadline has passed for both.
    await waitFor(async () => (await engine.stats(JOBS)).ready === 1, POLL);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 1 });
    expect(await engine.ack(JOBS, [kept!.receipt])).toEqual({ acked: 1, stale: [] });
  });

  it("dead-letters a message whose last lease expires", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a", { maxAttempts: 1 })]);
    await receive(engine, 1, JOBS, SHORT_VISIBILITY_MS);
    await waitFor(async () => (await engine.stats(JOBS)).deadLettered === 1, POLL);
    expect(only(await receive(engine, 10, JOBS_DEAD_LETTERS)).reason).toBe("maxAttempts");
  });

  it("returns released leases to the head together, in acceptance order", async () => {
    const engine = createEngine();
    await engine.send(
      JOBS,
      ["a", "b", "c", "d"].map((id) => message(id)),
    );
    const [a, b, c] = await receive(engine, 3);
    await engine.release(JOBS, [c!.receipt, a!.receipt, "no-such-receipt"]);
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["a", "c", "d"]);
    expect(leases.map((lease) => lease.attempt)).toEqual([2, 2, 1]);
    expect(await engine.ack(JOBS, [b!.receipt])).toEqual({ acked: 1, stale: [] });
  });

  it("holds a delayed message until its delay has passed, then puts it at the tail", async () => {
    const engine = createEngine();
    const sentAt = Date.now();
    await engine.send(JOBS, [message("later", { delayMs: 50 }), message("now")]);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, delayed: 1 });
    await engine.send(JOBS, [message("after")]);
    expect(ids(await receive(engine, 1))).toEqual(["now"]);
    await waitFor(async () => (await engine.stats(JOBS)).delayed === 0, POLL);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(49);
    expect(ids(await receive(engine))).toEqual(["after", "later"]);
  });

  it("discards and counts a message met after its TTL has passed", async () => {
    const clock = manualClock();
    const engine = createEngine(clock.now);
    await engine.send(JOBS, [message("short-lived", { ttlMs: 1000 }), message("lasting", { ttlMs: 5000 })]);
    clock.time += 1000;
    const result = await engine.receive(JOBS, 10, LONG_VISIBILITY_MS);
    expect(ids(result.leases)).toEqual(["lasting"]);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, expired: 1 });
  });

  it("answers duplicate for an id the queue holds, whoever chose it, and within one batch", async () => {
    const engine = createEngine();
    const serverChosen = { chosenByProducer: false };
    expect(await engine.send(JOBS, [message("x", serverChosen), message("x", serverChosen)])).toEqual([false, true]);
    expect(await engine.send(JOBS, [message("x", serverChosen)])).toEqual([true]);
    expect((await engine.stats(JOBS)).ready).toBe(1);
    const lease = only(await receive(engine));
    expect(await engine.send(JOBS, [message("x", serverChosen)])).toEqual([true]);
    await engine.ack(JOBS, [lease.receipt]);
    expect(await engine.send(JOBS, [message("x", serverChosen)])).toEqual([false]);
  });

  it("deduplicates a producer's id for the window after its first acceptance, then forgets it", async () => {
    const clock = manualClock();
    const engine = createEngine(clock.now);
    expect(await engine.send(JOBS, [message("p")])).toEqual([false]);
    const acceptedAt = clock.time;
    await engine.ack(JOBS, [only(await receive(engine)).receipt]);
    clock.time = acceptedAt + DEDUP_WINDOW_MS - 1;
    expect(await engine.send(JOBS, [message("p")])).toEqual([true]);
    clock.time = acceptedAt + DEDUP_WINDOW_MS;
    expect(await engine.send(JOBS, [message("p")])).toEqual([true]);
    clock.time = acceptedAt + DEDUP_WINDOW_MS + 1;
    expect(await engine.send(JOBS, [message("p")])).toEqual([false]);
    expect((await engine.stats(JOBS)).ready).toBe(1);
  });

  it("purges ready and delayed messages and leaves those in flight", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b"), message("c", { delayMs: LONG_VISIBILITY_MS })]);
    const lease = only(await receive(engine, 1));
    expect(await engine.purge(JOBS)).toBe(2);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1, delayed: 0 });
    expect(await engine.ack(JOBS, [lease.receipt])).toEqual({ acked: 1, stale: [] });
    expect(await engine.purge(JOBS)).toBe(0);
  });

  it("redrives the ready and delayed messages of <queue>.dlq to the tail, attempt from 1", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b"), message("c")]);
    for (const lease of await receive(engine, 3)) await engine.nack(JOBS, lease.receipt, false, 0);
    const [a, b, c] = await receive(engine, 3, JOBS_DEAD_LETTERS);
    await engine.nack(JOBS_DEAD_LETTERS, a!.receipt, true, 0);
    await engine.nack(JOBS_DEAD_LETTERS, b!.receipt, true, LONG_VISIBILITY_MS);
    await engine.send(JOBS, [message("fresh")]);
    expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 1, delayed: 1, inflight: 1 });

    expect(await engine.redrive(JOBS)).toBe(2);
    expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
    expect((await engine.stats(JOBS)).deadLettered).toBe(1);
    const leases = await receive(engine);
    expect(ids(leases)).toEqual(["fresh", "a", "b"]);
    expect(leases.map((lease) => [lease.attempt, lease.reason])).toEqual([
      [1, undefined],
      [1, undefined],
      [1, undefined],
    ]);
    expect(await engine.ack(JOBS_DEAD_LETTERS, [c!.receipt])).toEqual({ acked: 1, stale: [] });
  });

  it("counts ready, in-flight and delayed messages and what <queue>.dlq holds", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a"), message("b"), message("c"), message("d", { delayMs: LONG_VISIBILITY_MS })]);
    const [a] = await receive(engine, 2);
    await engine.nack(JOBS, a!.receipt, false, 0);
    await receive(engine, 1, JOBS_DEAD_LETTERS);
    expect(await engine.stats(JOBS)).toEqual({
      ready: 1,
      inflight: 1,
      delayed: 1,
      deadLettered: 1,
      expired: 0,
      discarded: 0,
    });
    expect(await engine.stats(JOBS_DEAD_LETTERS)).toMatchObject({ ready: 0, inflight: 1, deadLettered: 0 });
  });

  it("wakes watchers when messages become ready: sent, requeued, due, dead-lettered, redriven", async () => {
    const engine = createEngine();
    let wakeups = 0;
    let deadLetterWakeups = 0;
    const stopWatching = engine.watch(JOBS, () => wakeups++);
    engine.watch(JOBS_DEAD_LETTERS, () => deadLetterWakeups++);
    const woken = (expected: number) => waitFor(() => wakeups >= expected, POLL);

    await engine.send(JOBS, [message("a"), message("b")]);
    await woken(1);
    const [a, b] = await receive(engine);
    await engine.nack(JOBS, a!.receipt, true, 0);
    await woken(2);
    await engine.nack(JOBS, b!.receipt, true, 20);
    await woken(3);
    const [again] = await receive(engine, 1);
    await engine.nack(JOBS, again!.receipt, false, 0);
    await waitFor(() => deadLetterWakeups >= 1, POLL);
    const countBeforeRedrive = wakeups;
    expect(await engine.redrive(JOBS)).toBe(1);
    await woken(countBeforeRedrive + 1);

    stopWatching();
    const countAfterStop = wakeups;
    await engine.send(JOBS, [message("c")]);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(wakeups).toBe(countAfterStop);
  });

  it("refuses every call with UNAVAILABLE once closed", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a", { delayMs: LONG_VISIBILITY_MS })]);
    await engine.close();
    const error = await rejection(engine.send(JOBS, [message("b")]));
    expect((error as MailroomError).code).toBe("UNAVAILABLE");
  });

  it("moves a million messages through send, receive and ack, and keeps nothing after", async () => {
    const engine = createEngine();
    const total = 1_000_000;
    const batch = 1000;
    const body = Buffer.from("x");
    for (let sent = 0; sent < total; sent += batch) {
      const messages: NewMessage[] = [];
      for (let index = sent; index < sent + batch; index++)
        messages.push(message(`m${index}`, { body, chosenByProducer: false }));
      await engine.send(JOBS, messages);
    }
    let received = 0;
    for (;;) {
      const { leases } = await engine.receive(JOBS, batch, LONG_VISIBILITY_MS);
      if (leases.length === 0) break;
      if (received === 0) expect(leases[0]!.id).toBe("m0");
      received += leases.length;
      await engine.ack(
        JOBS,
        leases.map((lease) => lease.receipt),
      );
    }
    expect(received).toBe(total);
    expect(await engine.stats(JOBS)).toEqual({
      ready: 0,
      inflight: 0,
      delayed: 0,
      deadLettered: 0,
      expired: 0,
      discarded: 0,
    });
  });
});
