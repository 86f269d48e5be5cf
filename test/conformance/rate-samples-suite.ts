/**
 * The guarantees of the dashboard's rate samples (engines/rate-samples.ts), written once and run in-process
 * against the memory and the Redis implementation (test/rate-samples.test.ts). Slots are cut from the store's
 * real clock, so the tests use short intervals and wait for a fresh slot where a test needs one.
 */
import { describe, expect, it } from "vitest";
import type {
  QueueTotals,
  RateSamples,
  RateSamplingSettings,
  SlotClaim,
} from "../../packages/server/src/engines/rate-samples.js";

export type RateSamplesFactory = (settings: RateSamplingSettings) => Promise<RateSamples>;

/** Short slots: each test takes a handful. */
const INTERVAL_MS = 100;
const SETTINGS: RateSamplingSettings = { intervalMs: INTERVAL_MS, keepMs: 60_000 };

/** The next slot nobody has claimed yet: asks until it gets one (at most a slot and a little later). */
export async function nextClaim(samples: RateSamples): Promise<SlotClaim> {
  for (;;) {
    const claim = await samples.claimSlot();
    if (claim !== undefined) return claim;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function totals(...queues: Array<[queue: string, sent: number, acked: number]>): QueueTotals[] {
  return queues.map(([queue, sent, acked]) => ({ namespace: "/", queue, sent, acked }));
}

export function rateSamplesSuite(name: string, factory: RateSamplesFactory): void {
  /** Appends one sample of these totals in a fresh slot. */
  async function sample(samples: RateSamples, queues: QueueTotals[]): Promise<void> {
    expect(await samples.append(await nextClaim(samples), queues)).toBe(true);
  }

  describe(`rate samples (${name})`, () => {
    it("keeps the totals of the queues a partial sample leaves out, and counts their growth when listed again", async () => {
      const samples = await factory(SETTINGS);
      await sample(samples, totals(["a", 1, 0], ["b", 1, 0]));
      expect(await samples.append(await nextClaim(samples), totals(["a", 3, 1]), true)).toBe(true);
      expect(await samples.append(await nextClaim(samples), totals(["b", 4, 0]), true)).toBe(true);
      const { samples: taken } = await samples.read();
      expect(taken.slice(1).map(({ sent, acked, queues }) => ({ sent, acked, queues }))).toEqual([
        { sent: 2, acked: 1, queues: [{ namespace: "/", queue: "a", sent: 2, acked: 1 }] },
        { sent: 3, acked: 0, queues: [{ namespace: "/", queue: "b", sent: 3, acked: 0 }] },
      ]);
    });

    it("gives a slot to one caller only, however many ask at once", async () => {
      const samples = await factory(SETTINGS);
      await nextClaim(samples);
      // Claimed as soon as the next slot began: the others ask within the same slot.
      const first = await nextClaim(samples);
      expect(first.slotStart % INTERVAL_MS).toBe(0);
      expect(first.at - first.slotStart).toBeGreaterThanOrEqual(0);
      expect(first.at - first.slotStart).toBeLessThan(INTERVAL_MS);
      const others = await Promise.all(Array.from({ length: 5 }, () => samples.claimSlot()));
      expect(others).toEqual([undefined, undefined, undefined, undefined, undefined]);
      const next = await nextClaim(samples);
      expect(next.slotStart).toBeGreaterThan(first.slotStart);
    });

    it("counts nothing in the first sample, then lists the queues whose totals changed, with how much they grew", async () => {
      const samples = await factory(SETTINGS);
      await sample(samples, totals(["a", 5, 2], ["b", 0, 0]));
      await sample(samples, totals(["a", 8, 2], ["b", 0, 0]));
      await sample(samples, totals(["a", 8, 2], ["b", 0, 0]));
      const { samples: taken, totals: latest } = await samples.read();
      expect(taken.map(({ sent, acked, queues }) => ({ sent, acked, queues }))).toEqual([
        { sent: undefined, acked: undefined, queues: [] },
        { sent: 3, acked: 0, queues: [{ namespace: "/", queue: "a", sent: 3, acked: 0 }] },
        { sent: 0, acked: 0, queues: [] },
      ]);
      const times = taken.map((one) => one.at);
      expect(times).toEqual([...times].sort((first, second) => first - second));
      expect(new Set(times.map((at) => Math.floor(at / INTERVAL_MS))).size).toBe(3);
      expect(latest?.at).toBe(times[2]);
      expect(latest?.queues.sort((first, second) => first.queue.localeCompare(second.queue))).toEqual(
        totals(["a", 8, 2], ["b", 0, 0]),
      );
    });

    it("gives no count for a queue new to the samples, nor for a total that went down: never a negative one", async () => {
      const samples = await factory(SETTINGS);
      await sample(samples, totals(["a", 10, 10]));
      await sample(samples, totals(["a", 4, 12], ["c", 7, 0], ["d", 0, 0]));
      const newest = (await samples.read()).samples.at(-1);
      expect(newest?.sent).toBe(0);
      expect(newest?.acked).toBe(2);
      expect(newest?.queues.sort((first, second) => first.queue.localeCompare(second.queue))).toEqual([
        { namespace: "/", queue: "a", sent: undefined, acked: 2 },
        { namespace: "/", queue: "c", sent: undefined, acked: undefined },
      ]);
    });

    it("forgets a queue no longer listed: listed again, it is new", async () => {
      const samples = await factory(SETTINGS);
      await sample(samples, totals(["a", 1, 1], ["b", 1, 0]));
      await sample(samples, totals(["b", 1, 0]));
      expect((await samples.read()).totals?.queues).toEqual(totals(["b", 1, 0]));
      await sample(samples, totals(["a", 3, 1], ["b", 1, 0]));
      expect((await samples.read()).samples.at(-1)?.queues).toEqual([
        { namespace: "/", queue: "a", sent: undefined, acked: undefined },
      ]);
    });

    it("stores nothing for a claim no newer than the newest sample (a slow sampler's turn passed)", async () => {
      const samples = await factory(SETTINGS);
      const earlier = await nextClaim(samples);
      const later = await nextClaim(samples);
      expect(await samples.append(later, totals(["a", 1, 0]))).toBe(true);
      expect(await samples.append(earlier, totals(["a", 2, 0]))).toBe(false);
      expect(await samples.append(later, totals(["a", 2, 0]))).toBe(false);
      const { samples: taken, totals: latest } = await samples.read();
      expect(taken.map((one) => one.at)).toEqual([later.at]);
      expect(latest?.queues).toEqual(totals(["a", 1, 0]));
    });

    it("keeps the newest keepMs / intervalMs samples only", async () => {
      const samples = await factory({ intervalMs: 50, keepMs: 200 });
      for (let sent = 0; sent < 7; sent++) await sample(samples, totals(["a", sent, 0]));
      const taken = (await samples.read()).samples;
      expect(taken).toHaveLength(4);
      expect(taken.map((one) => one.sent)).toEqual([1, 1, 1, 1]);
    });

    it("forgets everything keepMs after the last sample", async () => {
      const samples = await factory({ intervalMs: 20, keepMs: 200 });
      await sample(samples, totals(["a", 1, 0]));
      expect((await samples.read()).samples).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await samples.read()).toEqual({ samples: [], totals: undefined });
      await sample(samples, totals(["a", 5, 0]));
      expect((await samples.read()).samples.map(({ sent, queues }) => ({ sent, queues }))).toEqual([
        { sent: undefined, queues: [] },
      ]);
    });

    it("answers no sample and no totals before the first sample", async () => {
      const samples = await factory(SETTINGS);
      expect(await samples.read()).toEqual({ samples: [], totals: undefined });
    });
  });
}
