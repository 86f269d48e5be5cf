/**
 * The queue engine conformance suite on the memory engine, in-process. Its clock is vitest's fake one
 * (Date and the timers), so leases, delays, TTLs and dedup windows end the moment the test moves the
 * clock past them, and a second of the suite's time costs none of the test's.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { vi } from "vitest";
import { MemoryQueueEngine } from "../packages/server/src/engines/memory/memory-queue-engine.js";
import { queueEngineSuite } from "./conformance/queue-engine-suite.js";

/** The dedup window the suite outlasts; the same as the Redis engine's, though here it costs nothing. */
const DEDUP_WINDOW_MS = 1000;
/** How far the fake clock moves between two looks at a condition: finer than any timing the suite asserts. */
const STEP_MS = 10;
/** Fake time a condition may take before it counts as never coming (the suite's waits are about a second). */
const MAX_FAKE_WAIT_MS = 60_000;
/** Turns of the event loop a condition gets before the clock moves (wake-ups are microtasks here). */
const TURNS_BEFORE_MOVING = 3;
/** Timers and the date are faked; setImmediate stays real so a condition can be looked at again. */
const FAKED = ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] as const;

queueEngineSuite("memory", async () => {
  vi.useFakeTimers({ toFake: [...FAKED], now: Date.now() });
  const engine = new MemoryQueueEngine({ dedupWindowMs: DEDUP_WINDOW_MS, now: () => Date.now() });
  await engine.start();
  return {
    engine,
    dedupWindowMs: DEDUP_WINDOW_MS,
    now: () => Date.now(),
    async advancePast(ms) {
      await vi.advanceTimersByTimeAsync(ms + 1);
    },
    async eventually(check, what) {
      for (let waited = 0, turns = 0; waited <= MAX_FAKE_WAIT_MS; ) {
        const value = await check();
        if (value !== undefined && value !== false) return value;
        if (turns < TURNS_BEFORE_MOVING) {
          turns += 1;
          await nextTurn();
        } else {
          await vi.advanceTimersByTimeAsync(STEP_MS);
          waited += STEP_MS;
        }
      }
      throw new Error(`the fake clock moved ${MAX_FAKE_WAIT_MS} ms without ${what}`);
    },
    watch: async (address, listener) => engine.watch(address, listener),
    async cleanup() {
      await engine.close();
      vi.useRealTimers();
    },
  };
});
