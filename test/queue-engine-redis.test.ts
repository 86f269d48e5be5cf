/**
 * The queue engine conformance suite on the Redis engine, in-process: the engine built from its parts as
 * engines/redis/redis-store.ts builds it (connections, keys, scripts, the queue registry), on a Redis of the
 * test's own, and with `npm run test:deployments` on a Redis Cluster and a Sentinel set too (docs/protocol.md
 * §14; shared by the file's tests), under a fresh key prefix per test. Time is Redis's real clock: the suite waits for it,
 * and the engine's sweep (every 200 ms) ends leases and delays.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe } from "vitest";
import type { QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import type { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import type { RedisQueueEngine } from "../packages/server/src/engines/redis/redis-queue-engine.js";
import { type QueueEngineHarness, queueEngineSuite } from "./conformance/queue-engine-suite.js";
import { type RedisDeployment, SUITE_DEPLOYMENTS, sharedDeployment } from "./helpers/redis-deployments.js";
import { startRedisEngine } from "./helpers/redis-engine.js";
import { waitFor } from "./helpers/wait.js";

/** The protocol's shortest dedup window worth waiting for in a test (the default is 5 minutes). */
const DEDUP_WINDOW_MS = 1000;
/** How long a condition may take: a second of timed work, a sweep tick, and room for a busy machine. */
const EVENTUALLY_TIMEOUT_MS = 5000;
const POLL_INTERVAL_MS = 20;

for (const kind of SUITE_DEPLOYMENTS) {
  describe(`on Redis in ${kind} mode`, () => {
    const deployment = sharedDeployment(kind);
    queueEngineSuite(kind === "standalone" ? "redis" : `redis ${kind}`, async () => startEngine(await deployment()));
  });
}

async function startEngine(deployment: RedisDeployment): Promise<QueueEngineHarness> {
  const { engine, keys, close } = await startRedisEngine(deployment, { dedupWindowMs: DEDUP_WINDOW_MS });
  const watching = new LiveWatches(engine, keys);
  return {
    engine,
    dedupWindowMs: DEDUP_WINDOW_MS,
    // Redis runs on this machine: its TIME and Date.now() read the same clock.
    now: () => Date.now(),
    async advancePast(ms) {
      const until = Date.now() + ms + 1;
      while (Date.now() < until) await sleep(until - Date.now());
    },
    eventually: (check, what) =>
      waitFor(check, { timeoutMs: EVENTUALLY_TIMEOUT_MS, intervalMs: POLL_INTERVAL_MS, what }),
    watch: (address, listener) => watching.watch(address, listener),
    cleanup: close,
  };
}

/**
 * Watches that resolve once wake-ups flow. A queue's first watcher subscribes its channel, and the engine
 * calls it once when the subscription stands (a wake-up published before then was missed): that call
 * says the watch is live and is not passed on. Later watchers of a channel already subscribed are live at
 * once and get no such call.
 */
class LiveWatches {
  /** Wake-up channel -> how many live watches it has. */
  private readonly live = new Map<string, number>();

  constructor(
    private readonly engine: RedisQueueEngine,
    private readonly keys: RedisKeys,
  ) {}

  watch(address: QueueAddress, listener: () => void): Promise<() => void> {
    const channel = this.keys.wakeChannel(address.namespace, address.queue);
    const alreadyLive = (this.live.get(channel) ?? 0) > 0;
    return new Promise((resolve) => {
      let isLive = alreadyLive;
      const stopWatching = this.engine.watch(address, () => {
        if (isLive) listener();
        else {
          isLive = true;
          this.count(channel, 1);
          resolve(stop);
        }
      });
      const stop = () => {
        this.count(channel, -1);
        stopWatching();
      };
      if (alreadyLive) {
        this.count(channel, 1);
        resolve(stop);
      }
    });
  }

  private count(channel: string, change: number): void {
    this.live.set(channel, (this.live.get(channel) ?? 0) + change);
  }
}
