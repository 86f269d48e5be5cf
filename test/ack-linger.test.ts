/**
 * Acks that wait for company on the node (packages/server/src/engines/redis/tick-batcher.ts, the Redis
 * engine's ACK_LINGER_MS): a stock client acks each delivery with its own `queue:ack`, and at everyday rates
 * each came alone; acks that may wait (their consumer is not short of credit: ConsumerDispatcher.
 * mayWaitToSettle) now wait for others to share one ack script. Counted in Redis: the ack script removes its
 * receipts from the inflight set with one ZREM per call. Then the batcher's rules on their own, on Vitest's
 * clock.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import type { RedisQueueEngine } from "../packages/server/src/engines/redis/redis-queue-engine.js";
import { TickBatcher } from "../packages/server/src/engines/redis/tick-batcher.js";
import { onCleanup } from "./helpers/cleanup.js";
import { newMessage } from "./helpers/new-message.js";
import { startEngineOnOwnRedis } from "./helpers/redis-engine.js";

async function zremCalls(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return Number(/cmdstat_zrem:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe("acks on the Redis engine", () => {
  /** An engine with a long linger, so that real turns of the event loop fall well within it; 10 leases. */
  async function tenLeases() {
    const { engine, url } = await startEngineOnOwnRedis({ dedupWindowMs: 1000, ackLingerMs: 50 });
    const admin = new Redis(url);
    onCleanup(() => void admin.disconnect());
    const address = { namespace: "/", queue: "separate" };
    await engine.send(
      address,
      Array.from({ length: 10 }, (_, index) => newMessage(`m${index}`)),
    );
    const { leases } = await engine.receive(address, 10, 60_000);
    expect(leases).toHaveLength(10);
    return { engine, admin, address, receipts: leases.map((lease) => lease.receipt) };
  }

  /** Acks each receipt alone, a turn of the event loop apart; resolves with their outcomes. */
  async function ackOnePerTurn(engine: RedisQueueEngine, address: QueueAddress, receipts: string[], mayWait: boolean) {
    const outcomes: Promise<{ acked: number; stale: string[] }>[] = [];
    for (const receipt of receipts) {
      outcomes.push(engine.ack(address, [receipt], mayWait));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return Promise.all(outcomes);
  }

  it.each([
    { mayWait: true, scripts: 1, what: "that may wait, made a turn apart, in one script" },
    { mayWait: false, scripts: 10, what: "that may not wait after their own turn, one script each" },
  ])("settles acks $what", async ({ mayWait, scripts }) => {
    const { engine, admin, address, receipts } = await tenLeases();
    const before = await zremCalls(admin);
    const outcomes = await ackOnePerTurn(engine, address, receipts, mayWait);
    expect(outcomes).toEqual(receipts.map(() => ({ acked: 1, stale: [] })));
    expect((await zremCalls(admin)) - before).toBe(scripts);
  });
});

describe("TickBatcher", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function recording() {
    const calls: string[][] = [];
    const batcher = new TickBatcher<string, boolean>(
      async (_key, items) => {
        calls.push(items);
        return items.map(() => true);
      },
      1000,
      2,
    );
    return { calls, batcher };
  }

  it("lets items whose callers may wait wait up to the linger, with those added meanwhile", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate"] });
    const { calls, batcher } = recording();
    void batcher.add("q", ["a"], true);
    vi.advanceTimersByTime(1);
    void batcher.add("q", ["b"], true);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([["a", "b"]]);
  });

  it("sends everything pending after this turn once a caller may not wait", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate"] });
    const { calls, batcher } = recording();
    void batcher.add("q", ["a"], true);
    void batcher.add("q", ["b"]);
    vi.advanceTimersByTime(0);
    expect(calls).toEqual([["a", "b"]]);
    vi.advanceTimersByTime(5);
    expect(calls).toEqual([["a", "b"]]);
  });
});
