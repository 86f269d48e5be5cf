/**
 * The dashboard's rate samples (engines/rate-samples.ts): the conformance suite in-process on the memory
 * store and on Redis (a Redis of the test's own, a fresh key prefix per test), and the sampler
 * (operations/rate-sampler.ts): it wakes halfway through each slot, takes a sample only when its node got
 * the slot, and goes on, logging, when the store fails or is away.
 */
import { once } from "node:events";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { MemoryRateSamples } from "../packages/server/src/engines/memory/memory-rate-samples.js";
import type { RateSamples, RateSamplingSettings } from "../packages/server/src/engines/rate-samples.js";
import { RedisConnections } from "../packages/server/src/engines/redis/connections.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { RedisRateSamples } from "../packages/server/src/engines/redis/redis-rate-samples.js";
import { Scripts } from "../packages/server/src/engines/redis/scripts.js";
import { RateSampler, untilMidSlot } from "../packages/server/src/operations/rate-sampler.js";
import { rateSamplesSuite } from "./conformance/rate-samples-suite.js";
import { onCleanup } from "./helpers/cleanup.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";

const COMMAND_TIMEOUT_MS = 500;

rateSamplesSuite("memory", async (settings) => new MemoryRateSamples(settings));

/** Rate samples on their own connection to the Redis at `url`, under a fresh prefix. */
async function redisRateSamples(
  settings: RateSamplingSettings,
  url: string,
  prefix = freshPrefix(),
): Promise<RateSamples> {
  const connections = new RedisConnections({
    mode: "standalone",
    url,
    sentinelMaster: "",
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    logger: pino({ level: "silent" }),
  });
  const ready = once(connections.command, "ready");
  connections.connect();
  await ready;
  onCleanup(() => connections.close());
  return new RedisRateSamples(new Scripts(connections.command, new RedisKeys(prefix)), settings);
}

rateSamplesSuite("redis", async (settings) => redisRateSamples(settings, (await startRedis()).url));

describe("the queues a Redis sample reads", () => {
  it("are those any node sent to or acked from since the last sample, each once, whichever node claims", async () => {
    const { url } = await startRedis();
    const prefix = freshPrefix();
    const settings = { intervalMs: 100, keepMs: 60_000 };
    const [nodeA, nodeB] = await Promise.all([
      redisRateSamples(settings, url, prefix),
      redisRateSamples(settings, url, prefix),
    ]);
    nodeA.noteActive({ namespace: "/", queue: "orders" });
    nodeA.noteActive({ namespace: "/", queue: "orders" });
    nodeB.noteActive({ namespace: "/shop", queue: "invoices" });
    nodeB.noteActive({ namespace: "/", queue: "orders" });
    // Each node tells the cluster what it noted at its claim, whether it gets the slot or not.
    await Promise.all([nodeA.claimSlot(), nodeB.claimSlot()]);
    const taken = await nodeB.takeActive();
    expect(taken?.map(({ namespace, queue }) => `${namespace} ${queue}`).sort()).toEqual([
      "/ orders",
      "/shop invoices",
    ]);
    expect(await nodeA.takeActive()).toEqual([]);
    // Nothing noted since: an idle cluster adds nothing at its claims.
    await Promise.all([nodeA.claimSlot(), nodeB.claimSlot()]);
    expect(await nodeA.takeActive()).toEqual([]);
  });
});

function quietLogger() {
  return { warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
}

describe("the rate sampler", () => {
  it("wakes halfway through each slot, never twice in one", () => {
    expect(untilMidSlot(10_000, 10_000)).toBe(5000);
    expect(untilMidSlot(14_999, 10_000)).toBe(1);
    expect(untilMidSlot(15_000, 10_000)).toBe(10_000);
    expect(untilMidSlot(15_001, 10_000)).toBe(9999);
  });

  it("reads the totals only when its node got the slot", async () => {
    const totals = vi.fn(async () => [{ namespace: "/", queue: "a", sent: 1, acked: 0 }]);
    const samples = new MemoryRateSamples({ intervalMs: 60_000, keepMs: 900_000 });
    const sampler = new RateSampler({ samples, totals, intervalMs: 60_000, logger: quietLogger() });
    const other = new RateSampler({ samples, totals, intervalMs: 60_000, logger: quietLogger() });
    await sampler.sampleNow();
    await other.sampleNow();
    expect(totals).toHaveBeenCalledTimes(1);
    expect((await samples.read()).samples).toHaveLength(1);
  });

  it("goes on when a sample fails: a warning for the first failure of a run, then debug lines, then a line when it works again", async () => {
    const logger = quietLogger();
    let failing = true;
    const samples = new MemoryRateSamples({ intervalMs: 100, keepMs: 900_000 });
    const sampler = new RateSampler({
      samples: {
        claimSlot: () => (failing ? Promise.reject(new Error("store away")) : samples.claimSlot()),
        append: (claim, totals) => samples.append(claim, totals),
        takeActive: () => samples.takeActive(),
      },
      totals: async () => [],
      intervalMs: 100,
      logger,
    });
    await sampler.sampleNow();
    await sampler.sampleNow();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.debug).toHaveBeenCalledTimes(1);
    failing = false;
    await sampler.sampleNow();
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect((await samples.read()).samples).toHaveLength(1);
  });

  it("neither throws nor hangs when Redis is away, and samples again once it is back", async () => {
    const away = await startRedis();
    const samples = await redisRateSamples({ intervalMs: 100, keepMs: 900_000 }, away.url);
    const logger = quietLogger();
    const sampler = new RateSampler({ samples, totals: async () => [], intervalMs: 100, logger });
    await away.kill();
    const started = performance.now();
    await sampler.sampleNow();
    expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS * 4);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    await away.restart();
    await expect
      .poll(
        async () => {
          await sampler.sampleNow();
          return (await samples.read()).samples.length;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(1);
    expect(logger.info).toHaveBeenCalled();
  });

  it("takes samples by itself once started, and stops when closed", async () => {
    const samples = new MemoryRateSamples({ intervalMs: 100, keepMs: 900_000 });
    const sampler = new RateSampler({ samples, totals: async () => [], intervalMs: 100, logger: quietLogger() });
    sampler.start();
    await expect.poll(async () => (await samples.read()).samples.length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    await sampler.close();
    const count = (await samples.read()).samples.length;
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await samples.read()).samples).toHaveLength(count);
  });
});
