/**
 * How an ack frees groups into their rotations on Redis (queue-lanes.lua: releaseGroups). While no group of
 * a queue holds a message above priority 0 (the `group-priorities` key is absent), an ack puts the groups
 * it frees into turns:0 without reading their heads; a grouped send with a priority writes the key, and the
 * heads are read again. A node of an earlier release writes no such key: a take that finds a group in a
 * rotation below its head's priority moves the group to the rotation of its head, and nothing is lost.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NewMessage, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { newMessage } from "./helpers/new-message.js";
import { type EngineOnRedis, queueSiblingKey, startEngineOnOwnRedis } from "./helpers/redis-engine.js";

const LONG_MS = 600_000;

function message(body: string, group: string, priority = 0): NewMessage {
  return newMessage(body, { group, priority });
}

function startEngine(): Promise<EngineOnRedis> {
  return startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
}

/** The queue's `group-priorities` key (beside its ready list). */
function groupPrioritiesKey(redis: EngineOnRedis, address: QueueAddress): string {
  return queueSiblingKey(redis.keys, address, "group-priorities");
}

/** Receives up to `max` and answers their bodies in order, with their receipts. */
async function receive(redis: EngineOnRedis, address: QueueAddress, max: number) {
  const { leases } = await redis.engine.receive(address, max, LONG_MS);
  return { bodies: leases.map((lease) => lease.body.toString()), receipts: leases.map((lease) => lease.receipt) };
}

/**
 * Groups A and B each with a head out and one message behind it: A's next has priority 9, B's priority 0.
 * The acks of both heads free the groups; A's next must go first.
 */
async function headsOutWithNextBehind(redis: EngineOnRedis, address: QueueAddress) {
  await redis.engine.send(address, [message("a1", "A"), message("b1", "B")]);
  const first = await receive(redis, address, 10);
  expect(first.bodies).toEqual(["a1", "b1"]);
  await redis.engine.send(address, [message("a2", "A", 9), message("b2", "B")]);
  return first.receipts;
}

describe("groups freed by an ack", () => {
  it("enter the rotation of their next message's priority once a group holds a priority, and the mark goes with the last group", async () => {
    const redis = await startEngine();
    const address = { namespace: "/", queue: `release-heads-${randomUUID().slice(0, 8)}` };
    const markKey = groupPrioritiesKey(redis, address);
    const command = redis.connections.command;

    await redis.engine.send(address, [message("a1", "A"), message("b1", "B")]);
    expect(await command.exists(markKey)).toBe(0);
    const first = await receive(redis, address, 10);
    expect(first.bodies).toEqual(["a1", "b1"]);
    await redis.engine.send(address, [message("a2", "A", 9), message("b2", "B")]);
    expect(await command.get(markKey)).toBe("1");
    await redis.engine.ack(address, first.receipts);
    // Priority 9 first: A's head was read, and A entered turns:9 (into turns:0 unread, b2 would come first).
    const next = await receive(redis, address, 1);
    expect(next.bodies).toEqual(["a2"]);
    const rest = await receive(redis, address, 10);
    expect(rest.bodies).toEqual(["b2"]);

    await redis.engine.ack(address, [...next.receipts, ...rest.receipts]);
    expect(await redis.engine.stats(address)).toMatchObject({ ready: 0, inflight: 0, groups: 0 });
    // No group left, so no grouped message with a priority: the mark is gone with them.
    expect(await command.exists(markKey)).toBe(0);
  });

  it("that an earlier release's send left below their head's priority are moved to its rotation by the next take, nothing lost", async () => {
    const redis = await startEngine();
    const address = { namespace: "/", queue: `release-heads-old-${randomUUID().slice(0, 8)}` };
    const receipts = await headsOutWithNextBehind(redis, address);
    // As a node of the release before the mark would have left the queue: a2 (priority 9) queued in its
    // group with no mark written.
    await redis.connections.command.del(groupPrioritiesKey(redis, address));
    await redis.engine.ack(address, receipts);

    // Both groups went into turns:0 unread. The take meets A there, puts a2 back at its group's head and A
    // in turns:9, takes b2, then takes from level 9: a2 is delivered in the same receive, after b2.
    const next = await receive(redis, address, 10);
    expect(next.bodies).toEqual(["b2", "a2"]);
    await redis.engine.ack(address, next.receipts);
    expect(await redis.engine.stats(address)).toMatchObject({ ready: 0, inflight: 0, groups: 0 });
    // A later head of A's with priority 9 goes first again: the moved group left nothing behind in turns:0.
    await redis.engine.send(address, [message("a3", "A", 9), message("b3", "B")]);
    expect((await receive(redis, address, 10)).bodies).toEqual(["a3", "b3"]);
  });
});
