/**
 * A count in a queue's `group-delays` hash that no delayed message backs (a node of the first release with
 * groups, b8c1136, makes a delayed grouped message ready without counting it out there) keeps its group from
 * ending: `queue:stats` goes on counting the group. The sweep that takes a queue's last delayed message
 * forgets such counts and ends the groups they held (queue-lanes.lua: forgetStaleDelays).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NewMessage } from "../packages/server/src/engines/queue-engine.js";
import { newMessage } from "./helpers/new-message.js";
import { queueSiblingKey, startEngineOnOwnRedis } from "./helpers/redis-engine.js";
import { waitFor } from "./helpers/wait.js";

const LONG_MS = 600_000;

function message(group: string, delayMs = 0): NewMessage {
  return newMessage(group, { group, delayMs });
}

describe("a delay count that no delayed message backs", () => {
  it("is forgotten by the sweep that takes the queue's last delayed message, and its group ends", async () => {
    const redis = await startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
    const { engine } = redis;
    const address = { namespace: "/", queue: `delays-heal-${randomUUID().slice(0, 8)}` };
    const groupDelaysKey = queueSiblingKey(redis.keys, address, "group-delays");

    // Group B's one message goes out and is acked, with a count left behind as the old release leaves one:
    // the group cannot end.
    await engine.send(address, [message("B")]);
    await redis.connections.command.hincrby(groupDelaysKey, "B", 1);
    const first = await engine.receive(address, 10, LONG_MS);
    await engine.ack(
      address,
      first.leases.map((lease) => lease.receipt),
    );
    expect(await engine.stats(address)).toMatchObject({ ready: 0, inflight: 0, groups: 1 });

    // A delayed message of group A: the sweep that makes it ready takes the queue's last delayed message.
    await engine.send(address, [message("A", 100)]);
    await waitFor(async () => (await engine.stats(address)).ready === 1, { what: "the delayed message to be due" });
    expect(await redis.connections.command.exists(groupDelaysKey)).toBe(0);
    expect(await engine.stats(address)).toMatchObject({ groups: 1 });
    const second = await engine.receive(address, 10, LONG_MS);
    expect(second.leases.map((lease) => lease.body.toString())).toEqual(["A"]);
    await engine.ack(
      address,
      second.leases.map((lease) => lease.receipt),
    );
    expect(await engine.stats(address)).toMatchObject({ ready: 0, inflight: 0, delayed: 0, groups: 0 });
  });
});
