/**
 * Room recovery in the SDK (docs/protocol.md §10, issue 16 item 4) against real node processes and a real
 * Redis: a member whose node was SIGKILLed comes back on another node by itself and its handlers get
 * exactly what it missed, in order, then the live publications, each once (`recovered: true`); a recovery
 * the node refuses (a trimmed history, Redis lost its data, another epoch) calls `onReset` once, before
 * anything that follows, and live publications go on; a join whose `since` overlaps what the handle
 * delivered hands nothing over twice; a member's own publications sent without echo are not replayed to
 * it; positions kept in a `positionStorage` let a new client recover; a node without history still
 * delivers.
 */
import type { MailroomClient, Room, RoomPosition } from "@mailroom/client";
import { describe, expect, it } from "vitest";
import { readyClient } from "./helpers/clients.js";
import { type NodeHandle, startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

/**
 * Reconnection for a member that must miss what is published while it is away: a fixed second before it
 * tries the next node, far longer than the few publishes a test makes meanwhile.
 */
const SLOW_RECONNECT = { reconnectionDelay: 1000, reconnectionDelayMax: 1000, randomizationFactor: 0 };

async function twoNodes(args: string[] = []) {
  const redis = await startRedis();
  const nodes = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix(), args });
  return { redis, a: nodes[0] as NodeHandle, b: nodes[1] as NodeHandle };
}

/** The ticks a room's handlers receive, as `[data, offset]`; "reset" where `onReset` was called. */
function recordTicks(room: Room): Array<[unknown, number | undefined] | "reset"> {
  const record: Array<[unknown, number | undefined] | "reset"> = [];
  room.on("tick", (data, meta) => record.push([data, meta.offset]));
  room.onReset(() => record.push("reset"));
  return record;
}

/** Publishes ticks `first`…`last` one after the other through `client`; resolves with the last answer. */
async function publishTicks(client: MailroomClient, room: string, first: number, last: number) {
  let answer: Awaited<ReturnType<Room["publish"]>> | undefined;
  for (let n = first; n <= last; n += 1) answer = await client.room(room).publish("tick", n);
  return answer;
}

/** `[n, n]` for each n of `first`…`last`: ticks whose data is their offset. */
function ticks(first: number, last: number): Array<[number, number]> {
  return Array.from({ length: last - first + 1 }, (_, index) => [first + index, first + index]);
}

describe("SDK room recovery", () => {
  it("gives its handlers exactly the missed publications, in order, after its node was SIGKILLed, then the live ones", async () => {
    const { a, b } = await twoNodes();
    const member = await readyClient([a.url, b.url], SLOW_RECONNECT);
    const publisher = await readyClient(b.url);
    const room = member.room("game");
    const seen = recordTicks(room);
    const answer = await room.join();
    expect(answer).toEqual({ epoch: expect.any(String), offset: 0 });
    expect(room.recovered).toBeUndefined();
    expect(room.position).toEqual({ epoch: answer.epoch, offset: 0 });

    await publishTicks(publisher, "game", 1, 3);
    await waitFor(() => seen.length === 3, { what: "the first three ticks live" });
    await a.kill();
    await publishTicks(publisher, "game", 4, 8);
    expect(member.socket.connected).toBe(false);

    // The missed ticks reach the handler before the join's answer: once recovered is true, all are there.
    await waitFor(() => room.recovered === true, { timeoutMs: 15_000, what: "the member to recover on node B" });
    expect(seen).toEqual(ticks(1, 8));
    expect(room.position).toEqual({ epoch: answer.epoch, offset: 8 });

    await publishTicks(publisher, "game", 9, 10);
    await waitFor(() => seen.length === 10, { what: "the live ticks after the recovery" });
    expect(seen).toEqual(ticks(1, 10));
  });

  it("calls onReset once when the history no longer holds what was missed, and live publications go on", async () => {
    const { a, b } = await twoNodes(["--room-history-size", "3"]);
    const member = await readyClient([a.url, b.url], SLOW_RECONNECT);
    const publisher = await readyClient(b.url);
    const room = member.room("feed");
    const seen = recordTicks(room);
    const resetRooms: Room[] = [];
    room.onReset((reset) => resetRooms.push(reset));
    const { epoch } = await room.join();
    await publishTicks(publisher, "feed", 1, 2);
    await waitFor(() => seen.length === 2, { what: "the first two ticks live" });

    await a.kill();
    await publishTicks(publisher, "feed", 3, 12);
    await waitFor(() => room.recovered === false, { timeoutMs: 15_000, what: "the refused recovery on node B" });
    expect(resetRooms).toEqual([room]);
    expect(room.position).toEqual({ epoch, offset: 12 });

    await publishTicks(publisher, "feed", 13, 14);
    await waitFor(() => seen.length === 5, { what: "the live ticks after the reset" });
    expect(seen).toEqual([...ticks(1, 2), "reset", ...ticks(13, 14)]);
    expect(resetRooms).toHaveLength(1);
  });

  it("calls onReset once when Redis lost the room's history meanwhile, and takes the new epoch", async () => {
    const { redis, a, b } = await twoNodes();
    const member = await readyClient([a.url, b.url], SLOW_RECONNECT);
    const publisher = await readyClient(b.url);
    const room = member.room("news");
    const seen = recordTicks(room);
    const { epoch } = await room.join();
    await publishTicks(publisher, "news", 1, 3);
    await waitFor(() => seen.length === 3, { what: "the first three ticks live" });

    // Redis comes back empty (the nodes with it) before the member's node dies, so that its rejoin is answered.
    await redis.restart();
    await waitFor(
      async () =>
        (await publisher
          .room("elsewhere")
          .publish("probe", 0)
          .catch(() => false)) !== false,
      {
        timeoutMs: 15_000,
        what: "a publish once Redis is back",
      },
    );
    await a.kill();
    await publishTicks(publisher, "news", 4, 4);
    await waitFor(() => room.recovered === false, { timeoutMs: 15_000, what: "the refused recovery on node B" });
    const position = room.position as RoomPosition;
    expect(position.epoch).not.toBe(epoch);
    expect(position.offset).toBe(1);

    await publishTicks(publisher, "news", 5, 5);
    await waitFor(() => seen.length === 5, { what: "a live tick of the new epoch" });
    expect(seen).toEqual([...ticks(1, 3), "reset", [5, 2]]);
    expect(room.position).toEqual({ epoch: position.epoch, offset: 2 });
  });

  it("with rewind, calls onReset for another epoch's position first, then delivers the room's last n", async () => {
    const node = await startNode();
    const publisher = await readyClient(node.url);
    await publishTicks(publisher, "scores", 1, 5);
    const member = await readyClient(node.url);
    const room = member.room("scores");
    const seen = recordTicks(room);

    const answer = await room.join({ since: { epoch: "an-epoch-long-gone", offset: 3 }, rewind: 2 });
    expect(answer).toEqual({ epoch: expect.any(String), offset: 5, recovered: false });
    expect(seen).toEqual(["reset", ...ticks(4, 5)]);
    expect(room.position).toEqual({ epoch: answer.epoch, offset: 5 });
  });

  it("hands each offset over once when a join's since overlaps what the handle delivered", async () => {
    const node = await startNode();
    const member = await readyClient(node.url);
    const publisher = await readyClient(node.url);
    const room = member.room("chat");
    const seen = recordTicks(room);
    const { epoch } = await room.join();
    await publishTicks(publisher, "chat", 1, 5);
    await waitFor(() => seen.length === 5, { what: "five ticks live" });

    await room.leave();
    await publishTicks(publisher, "chat", 6, 7);
    // The node replays 3 to 7: 3, 4 and 5 were delivered already.
    const answer = await room.join({ since: { epoch: epoch as string, offset: 2 } });
    expect(answer).toEqual({ epoch, offset: 7, recovered: true });
    expect(seen).toEqual(ticks(1, 7));

    // A join of a room the socket is in replays nothing and resets nothing.
    expect(await room.join({ rewind: 5 })).toEqual({ epoch, offset: 7 });
    await publishTicks(publisher, "chat", 8, 8);
    await waitFor(() => seen.length === 8, { what: "a live tick after the joins" });
    expect(seen).toEqual(ticks(1, 8));
    expect(room.recovered).toBe(true);
  });

  it("does not replay a member's own publications sent without echo when it comes back on another node", async () => {
    const { a, b } = await twoNodes();
    const member = await readyClient([a.url, b.url], SLOW_RECONNECT);
    const publisher = await readyClient(b.url);
    const room = member.room("talk");
    const seen = recordTicks(room);
    await room.join();
    await publishTicks(publisher, "talk", 1, 2);
    await waitFor(() => seen.length === 2, { what: "two ticks live" });
    const own = await room.publish("tick", 3);
    expect(own.offset).toBe(3);
    expect(room.position?.offset).toBe(3);

    await a.kill();
    await publishTicks(publisher, "talk", 4, 5);
    await waitFor(() => room.recovered === true, { timeoutMs: 15_000, what: "the member to recover on node B" });
    expect(seen).toEqual([...ticks(1, 2), ...ticks(4, 5)]);
  });

  it("recovers in a new client from the positions an earlier one kept in its positionStorage", async () => {
    const node = await startNode();
    const entries = new Map<string, string>();
    const storage = {
      getItem: (key: string) => entries.get(key) ?? null,
      setItem: (key: string, value: string) => void entries.set(key, value),
    };
    const publisher = await readyClient(node.url);
    const first = await readyClient(node.url, { positionStorage: storage });
    const firstSeen = recordTicks(first.room("lobby"));
    const { epoch } = await first.room("lobby").join();
    await publishTicks(publisher, "lobby", 1, 3);
    await waitFor(() => firstSeen.length === 3, { what: "three ticks live" });
    expect([...entries]).toEqual([[`mailroom:position:${node.url}/:lobby`, JSON.stringify({ epoch, offset: 3 })]]);
    first.close();

    await publishTicks(publisher, "lobby", 4, 5);
    const second = await readyClient(node.url, { positionStorage: storage });
    const room = second.room("lobby");
    expect(room.position).toEqual({ epoch, offset: 3 });
    const seen = recordTicks(room);
    expect(await room.join()).toEqual({ epoch, offset: 5, recovered: true });
    expect(seen).toEqual(ticks(4, 5));
    expect(entries.get(`mailroom:position:${node.url}/:lobby`)).toBe(JSON.stringify({ epoch, offset: 5 }));
  });

  it("delivers publications without a position on a node that keeps no history", async () => {
    const node = await startNode({ args: ["--room-history-size", "0"] });
    const member = await readyClient(node.url);
    const publisher = await readyClient(node.url);
    const room = member.room("plain");
    const seen = recordTicks(room);
    expect(await room.join()).toEqual({});
    await publishTicks(publisher, "plain", 1, 2);
    await waitFor(() => seen.length === 2, { what: "two ticks live" });
    expect(seen).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    expect(room.position).toBeUndefined();
    expect(room.recovered).toBeUndefined();
  });
});
