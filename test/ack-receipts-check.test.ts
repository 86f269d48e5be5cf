/**
 * How an ack on Redis tells current receipts from stale ones (queue-ack.lua): its receipts go into a set of
 * the call's own, and ZINTERCARD with inflight says whether all are current; only when some are not does
 * ZMSCORE say which. The set must not outlive the call, and the answer must be the same either way.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { newMessage } from "./helpers/new-message.js";
import { queueSiblingKey, startEngineOnOwnRedis } from "./helpers/redis-engine.js";

const LONG_MS = 600_000;

describe("an ack on Redis", () => {
  it("acks all-current batches and mixed ones alike, and leaves no key of its check behind", async () => {
    const redis = await startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
    const address: QueueAddress = { namespace: "/", queue: `ack-check-${randomUUID().slice(0, 8)}` };
    await redis.engine.send(
      address,
      ["m1", "m2", "m3", "m4"].map((body) => newMessage(body)),
    );
    const { leases } = await redis.engine.receive(address, 4, LONG_MS);
    const [first, second, third, fourth] = leases.map((lease) => lease.receipt);
    if (!first || !second || !third || !fourth) throw new Error("four leases expected");

    // All current (and one repeated: the repeat is stale).
    expect(await redis.engine.ack(address, [first, second, first])).toEqual({ acked: 2, stale: [first] });
    // Mixed: already acked, current, unknown.
    expect(await redis.engine.ack(address, [second, third, "no-such-receipt", fourth])).toEqual({
      acked: 2,
      stale: [second, "no-such-receipt"],
    });

    const probes = await redis.connections.command.keys(`${queueSiblingKey(redis.keys, address, "ack-probe")}*`);
    expect(probes).toEqual([]);
    const stats = await redis.engine.stats(address);
    expect(stats).toMatchObject({ ready: 0, inflight: 0 });
  });
});
