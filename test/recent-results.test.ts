/**
 * RecentResults, the single-flight cache behind /metrics' depth gauges and the queue list: one computation
 * per key per maxAgeMs, shared by everyone who asks meanwhile. In process, with a clock the test moves.
 */
import { describe, expect, it } from "vitest";
import { RecentResults } from "../packages/server/src/structures/recent-results.js";

function setUp(maxKeys?: number) {
  const clock = { time: 0 };
  const results = new RecentResults<number>({ maxAgeMs: 1000, maxKeys, now: () => clock.time });
  let computations = 0;
  const compute = async () => {
    computations += 1;
    return computations;
  };
  return { clock, results, compute, computations: () => computations };
}

describe("RecentResults", () => {
  it("shares one running computation among everyone who asks for the key", async () => {
    const { results, computations } = setUp();
    let finish: (value: number) => void = () => {};
    const slow = () => new Promise<number>((resolve) => (finish = resolve));
    const asks = [results.get("k", slow), results.get("k", slow), results.get("k", slow)];
    await Promise.resolve();
    finish(7);
    expect(await Promise.all(asks)).toEqual([7, 7, 7]);
    expect(computations()).toBe(0);
  });

  it("hands a finished result out again until maxAgeMs after it finished, then computes anew", async () => {
    const { clock, results, compute, computations } = setUp();
    expect(await results.get("k", compute)).toBe(1);
    clock.time = 999;
    expect(await results.get("k", compute)).toBe(1);
    clock.time = 1000;
    expect(await results.get("k", compute)).toBe(2);
    expect(computations()).toBe(2);
  });

  it("keeps each key's result apart", async () => {
    const { results, compute } = setUp();
    expect(await results.get("a", compute)).toBe(1);
    expect(await results.get("b", compute)).toBe(2);
    expect(await results.get("a", compute)).toBe(1);
  });

  it("does not keep a failure: the next asker computes again", async () => {
    const { results, compute } = setUp();
    await expect(results.get("k", async () => Promise.reject(new Error("store away")))).rejects.toThrow("store away");
    expect(await results.get("k", compute)).toBe(1);
  });

  it("keeps at most maxKeys keys: past them, a new key is computed for its asker alone", async () => {
    const { clock, results, compute, computations } = setUp(1);
    expect(await results.get("a", compute)).toBe(1);
    expect(await results.get("b", compute)).toBe(2);
    expect(await results.get("b", compute)).toBe(3);
    expect(await results.get("a", compute)).toBe(1);
    clock.time = 1000; // "a" expired: its room goes to the next key
    expect(await results.get("b", compute)).toBe(4);
    expect(await results.get("b", compute)).toBe(4);
    expect(computations()).toBe(4);
  });
});
