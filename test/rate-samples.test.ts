/**
 * The dashboard's rate samples (engines/rate-samples.ts): the conformance suite in-process on the memory
 * store and on Redis (a Redis of the test's own, a fresh key prefix per test).
 */
import { once } from "node:events";
import { pino } from "pino";
import { MemoryRateSamples } from "../packages/server/src/engines/memory/memory-rate-samples.js";
import type { RateSamples, RateSamplingSettings } from "../packages/server/src/engines/rate-samples.js";
import { RedisConnections } from "../packages/server/src/engines/redis/connections.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { RedisRateSamples } from "../packages/server/src/engines/redis/redis-rate-samples.js";
import { Scripts } from "../packages/server/src/engines/redis/scripts.js";
import { rateSamplesSuite } from "./conformance/rate-samples-suite.js";
import { onCleanup } from "./helpers/cleanup.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";

const COMMAND_TIMEOUT_MS = 500;

rateSamplesSuite("memory", async (settings) => new MemoryRateSamples(settings));

/** Rate samples on their own connection to the Redis at `url`, under a fresh prefix. */
async function redisRateSamples(settings: RateSamplingSettings, url: string): Promise<RateSamples> {
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
  return new RedisRateSamples(new Scripts(connections.command, new RedisKeys(freshPrefix())), settings);
}

rateSamplesSuite("redis", async (settings) => redisRateSamples(settings, (await startRedis()).url));
