/**
 * What only the memory engine does, one behaviour per test. Its guarantees as a queue engine are held by
 * the conformance suite that both engines run (test/conformance/queue-engine-suite.ts, from
 * test/queue-engine-memory.test.ts); here: its exact dedup boundary and lease deadline on a clock the test
 * sets (Redis keeps a lease current until its sweep), its deduplication of ids the server chose, its one
 * timer heap, a closed engine, and a million messages with nothing kept after.
 */
import { MailroomError } from "@mailroom/protocol";
import { describe, expect, it, vi } from "vitest";
import { MemoryQueueEngine } from "../packages/server/src/engines/memory/memory-queue-engine.js";
import type { Lease, NewMessage, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { message } from "./conformance/queue-engine-suite.js";
import { onCleanup } from "./helpers/cleanup.js";

const JOBS: QueueAddress = { namespace: "/", queue: "jobs" };
/** Long enough that no lease ends during a test unless the test means it to. */
const LONG_VISIBILITY_MS = 60_000;
const DEDUP_WINDOW_MS = 60_000;

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

async function receive(engine: MemoryQueueEngine, max = 100, address = JOBS, visibilityMs = LONG_VISIBILITY_MS) {
  return (await engine.receive(address, max, visibilityMs)).leases;
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

  it("deduplicates a producer's id up to and including the window's last millisecond, then forgets it", async () => {
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

  it("treats a receipt as stale from its lease's deadline on, before its timer has requeued it", async () => {
    const clock = manualClock();
    const engine = createEngine(clock.now);
    await engine.send(JOBS, [message("a"), message("b")]);
    const [a, b] = await receive(engine, 2, JOBS, 1000);
    clock.time += 999;
    expect(await engine.ack(JOBS, [a!.receipt])).toEqual({ acked: 1, stale: [] });
    clock.time += 1;
    expect(await engine.ack(JOBS, [b!.receipt])).toEqual({ acked: 0, stale: [b!.receipt] });
    const error = await rejection(engine.extend(JOBS, b!.receipt, LONG_VISIBILITY_MS));
    expect((error as MailroomError).code).toBe("NOT_FOUND");
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1 });
  });

  it("ends an extended lease once, at its last deadline, past thousands of stale entries in its timer heap", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_700_000_000_000 });
    onCleanup(() => {
      vi.useRealTimers();
    });
    const engine = createEngine(() => Date.now());
    await engine.send(JOBS, [message("extended"), message("acked")]);
    const [extended, acked] = await receive(engine, 2, JOBS, 1000);
    // Each extension leaves its former deadline in the heap as a stale entry: enough to compact it.
    const extensions = 5000;
    for (let extra = 1; extra <= extensions; extra++) await engine.extend(JOBS, extended!.receipt, 1000 + extra);
    await engine.ack(JOBS, [acked!.receipt]);
    await vi.advanceTimersByTimeAsync(1000 + extensions - 1);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1 });
    await vi.advanceTimersByTimeAsync(1);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 1, inflight: 0 });
    expect(only(await receive(engine))).toMatchObject({ id: "extended", attempt: 2 });
    await vi.advanceTimersByTimeAsync(LONG_VISIBILITY_MS - 1);
    expect(await engine.stats(JOBS)).toMatchObject({ ready: 0, inflight: 1 });
  });

  it("refuses every call with UNAVAILABLE once closed", async () => {
    const engine = createEngine();
    await engine.send(JOBS, [message("a", { delayMs: LONG_VISIBILITY_MS })]);
    await engine.close();
    const error = await rejection(engine.send(JOBS, [message("b")]));
    expect(error).toBeInstanceOf(MailroomError);
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
      groups: 0,
      sent: total,
      acked: total,
    });
  });
});
