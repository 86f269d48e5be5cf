/**
 * Rooms that remember (docs/protocol.md §10), with stock `socket.io-client` sockets and real node
 * processes: every publication carries its offset and epoch; a member whose node was SIGKILLed comes back
 * on another node with `since` and gets exactly what it missed, in order, before its join's answer, then
 * the live ones with no gap and no duplicate; recovery is refused for another epoch, a trimmed history,
 * more than `--room-recovery-max` missed and after Redis lost its data; `rewind`; a publication whose
 * pub/sub message a node never received still reaches that node's members, in order (gap repair); the
 * HTTP history route; the memory engine on its one node; and many members coming back at once are served
 * by a few merged reads. The recovery after a SIGKILL also runs on a Redis Cluster and Sentinel with
 * `npm run test:deployments` (the history's keys and channel share the room's hash tag).
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { encodePublication } from "../packages/server/src/engines/publication-codec.js";
import { RedisKeys } from "../packages/server/src/engines/redis/keys.js";
import { startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { nodeOptionsOn, SUITE_DEPLOYMENTS, sharedDeployment } from "./helpers/redis-deployments.js";
import { type ClientSocket, collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

type Meta = { room: string; id: string; ts: number; offset: number; epoch: string; from?: string };

/** Publishes `count` ticks numbered from `first`; resolves with the replies. */
async function publishTicks(publisher: ClientSocket, room: string, first: number, count: number) {
  const replies = [];
  for (let n = first; n < first + count; n += 1) {
    const reply = await command(publisher, "room:publish", { room, event: "tick", data: n });
    expect(reply).toMatchObject({ ok: true, offset: expect.any(Number), epoch: expect.any(String) });
    replies.push(reply);
  }
  return replies;
}

/** The ticks a socket receives, with the order of events kept (a join's answer is pushed as "answer"). */
function ticksOf(socket: ClientSocket): Array<[number, Meta]> {
  return collect(socket, "tick") as Array<[number, Meta]>;
}

async function twoNodes(args: string[] = []) {
  const redis = await startRedis();
  const nodes = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix(), args });
  return { redis, nodes: nodes as [(typeof nodes)[0], (typeof nodes)[0]] };
}

describe("room history on Redis across node processes", () => {
  it("recovers exactly the missed publications on another node after the member's node was SIGKILLed", async () => {
    const { nodes } = await twoNodes();
    const [a, b] = nodes;
    const member = await connectSocket(a.url, "/", { reconnection: false });
    const first = await command(member, "room:join", { room: "game" });
    expect(first).toEqual({ ok: true, epoch: expect.any(String), offset: 0 });
    const publisher = await connectSocket(b.url);

    const seen = ticksOf(member);
    await publishTicks(publisher, "game", 1, 3);
    await waitFor(async () => seen.length === 3, { what: "the first three ticks live" });
    const [, lastMeta] = seen[2] as [number, Meta];
    expect(seen.map(([n, meta]) => [n, meta.offset])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(lastMeta).toEqual({
      room: "game",
      id: expect.any(String),
      ts: expect.any(Number),
      offset: 3,
      epoch: first.epoch,
    });

    await a.kill();
    await publishTicks(publisher, "game", 4, 5);

    // Back on node B, as a new connection: the missed ones arrive before the join's answer.
    const back = await connectSocket(b.url);
    const events: unknown[] = [];
    back.on("tick", (n: number, meta: Meta) => events.push([n, meta.offset]));
    const since = { epoch: lastMeta.epoch, offset: lastMeta.offset };
    const answer = await command(back, "room:join", { room: "game", since });
    events.push("answer");
    expect(answer).toEqual({ ok: true, epoch: first.epoch, offset: 8, recovered: true });
    await publishTicks(publisher, "game", 9, 2);
    await waitFor(async () => events.length === 8, { what: "the live ticks after the recovery" });
    expect(events).toEqual([[4, 4], [5, 5], [6, 6], [7, 7], [8, 8], "answer", [9, 9], [10, 10]]);
  });

  it("delivers live publications published during the recovery once each, after the replayed ones", async () => {
    const { nodes } = await twoNodes();
    const [a, b] = nodes;
    const publisher = await connectSocket(a.url);
    const joined = await command(publisher, "room:join", { room: "busy" });
    await publishTicks(publisher, "busy", 1, 20);
    const back = await connectSocket(b.url);
    const offsets: number[] = [];
    back.on("tick", (_n: number, meta: Meta) => offsets.push(meta.offset));
    // Publishing goes on while the join runs.
    const publishing = publishTicks(publisher, "busy", 21, 30);
    const answer = await command(back, "room:join", { room: "busy", since: { epoch: joined.epoch, offset: 5 } });
    expect(answer).toMatchObject({ ok: true, recovered: true });
    await publishing;
    await waitFor(async () => offsets.length === 45, { what: "every tick after offset 5" });
    expect(offsets).toEqual(Array.from({ length: 45 }, (_, index) => index + 6));
  });

  it("refuses recovery for another epoch, a position past the room's, and after Redis lost its data", async () => {
    const { redis, nodes } = await twoNodes();
    const [a, b] = nodes;
    const publisher = await connectSocket(a.url);
    const joined = await command(publisher, "room:join", { room: "news" });
    await publishTicks(publisher, "news", 1, 3);

    const other = await connectSocket(b.url);
    const replayed = ticksOf(other);
    expect(await command(other, "room:join", { room: "news", since: { epoch: "not-this-one", offset: 1 } })).toEqual({
      ok: true,
      epoch: joined.epoch,
      offset: 3,
      recovered: false,
    });
    const ahead = await connectSocket(b.url);
    expect(
      await command(ahead, "room:join", { room: "news", since: { epoch: joined.epoch, offset: 9 } }),
    ).toMatchObject({
      recovered: false,
    });

    await redis.restart();
    const afterLoss = await connectSocket(b.url);
    const reply = await waitFor(
      async () => {
        const answer = await command(afterLoss, "room:join", {
          room: "news",
          since: { epoch: joined.epoch, offset: 2 },
        });
        return answer.ok ? answer : undefined;
      },
      { what: "a join once Redis is back" },
    );
    expect(reply).toEqual({ ok: true, epoch: expect.any(String), offset: 0, recovered: false });
    expect(reply.epoch).not.toBe(joined.epoch);
    expect(replayed).toEqual([]);
  });

  it("refuses recovery past --room-recovery-max or what a trimmed history holds, and rewinds the last n", async () => {
    const { nodes } = await twoNodes(["--room-history-size", "10", "--room-recovery-max", "5"]);
    const [a, b] = nodes;
    const publisher = await connectSocket(a.url);
    const { epoch } = await command(publisher, "room:join", { room: "feed" });
    await publishTicks(publisher, "feed", 1, 30);

    const late = await connectSocket(b.url);
    const got = ticksOf(late);
    // 6 missed: more than the recovery maximum of 5.
    expect(await command(late, "room:join", { room: "feed", since: { epoch, offset: 24 } })).toEqual({
      ok: true,
      epoch,
      offset: 30,
      recovered: false,
    });
    // 5 missed: recovered.
    const fine = await connectSocket(b.url);
    const fineGot = ticksOf(fine);
    expect(await command(fine, "room:join", { room: "feed", since: { epoch, offset: 25 } })).toMatchObject({
      recovered: true,
      offset: 30,
    });
    expect(fineGot.map(([n]) => n)).toEqual([26, 27, 28, 29, 30]);

    // A history of 10 holds 21-30 only: offset 15 is gone, whatever the maximum.
    const { nodes: wide } = await twoNodes(["--room-history-size", "10"]);
    const wideSocket = await connectSocket(wide[0].url);
    const wideJoin = await command(wideSocket, "room:join", { room: "feed" });
    await publishTicks(wideSocket, "feed", 1, 30);
    const trimmed = await connectSocket(wide[1].url);
    expect(
      await command(trimmed, "room:join", { room: "feed", since: { epoch: wideJoin.epoch, offset: 15 } }),
    ).toMatchObject({ recovered: false, offset: 30 });
    expect(await command(trimmed, "room:leave", { room: "feed" })).toEqual({ ok: true });
    expect(
      await command(trimmed, "room:join", { room: "feed", since: { epoch: wideJoin.epoch, offset: 20 } }),
    ).toMatchObject({ recovered: true, offset: 30 });

    // Rewind: the last 3, oldest first, before the answer; none of them on a refused recovery without it.
    const rewinder = await connectSocket(b.url);
    const rewound = ticksOf(rewinder);
    expect(await command(rewinder, "room:join", { room: "feed", rewind: 3 })).toEqual({ ok: true, epoch, offset: 30 });
    expect(rewound.map(([n, meta]) => [n, meta.offset])).toEqual([
      [28, 28],
      [29, 29],
      [30, 30],
    ]);
    expect(got).toEqual([]);
    expect(await command(rewinder, "room:join", { room: "x", rewind: 101 })).toMatchObject({
      ok: false,
      error: { code: "BAD_REQUEST" },
    });
    expect(await command(rewinder, "room:join", { room: "x", since: { epoch: 1, offset: 0 } })).toMatchObject({
      ok: false,
      error: { code: "BAD_REQUEST" },
    });
  });

  it("repairs a gap: a publication whose pub/sub message the node never got reaches its members, in order", async () => {
    const redis = await startRedis();
    const prefix = freshPrefix();
    const node = await startNode({ redisUrl: redis.url, prefix });
    const member = await connectSocket(node.url);
    const publisher = await connectSocket(node.url);
    const joined = await command(member, "room:join", { room: "board" });
    const seen = ticksOf(member);
    await publishTicks(publisher, "board", 1, 2);

    // Offset 3 enters the history as a publish would write it, but its message is never published: lost.
    const client = new Redis(redis.url);
    const [meta, history] = new RedisKeys(prefix).roomHistoryKeys("/", "board");
    const offset = await client.hincrby(meta, "offset", 1);
    const body = encodePublication({ id: "lost-one", event: "tick", data: 3, ts: Date.now() });
    await client.xadd(history, `${offset}-0`, "p", body);
    client.disconnect();

    await publishTicks(publisher, "board", 4, 1);
    await waitFor(async () => seen.length === 4, { what: "ticks 1 to 4" });
    expect(seen.map(([n, m]) => [n, m.offset, m.epoch])).toEqual([
      [1, 1, joined.epoch],
      [2, 2, joined.epoch],
      [3, 3, joined.epoch],
      [4, 4, joined.epoch],
    ]);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/mailroom_room_gap_repaired_publications_total\{[^}]*namespace="\/"[^}]*\} 1/);
  });

  it("catches up after its subscriber reconnects, with no later publication needed", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const member = await connectSocket(node.url);
    await command(member, "room:join", { room: "quiet" });
    const seen = ticksOf(member);
    const admin = new Redis(redis.url);
    const publisher = new Redis(redis.url);
    // The node's subscriber goes; a publication is made while it comes back.
    await admin.client("KILL", "TYPE", "pubsub");
    const httpPublish = await fetch(`${node.url}/v1/namespaces/_/rooms/quiet/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ event: "tick", data: 1 }),
    });
    expect(httpPublish.status).toBe(202);
    await waitFor(async () => seen.length === 1, { what: "the publication made while the subscriber was away" });
    expect(seen[0]?.[1].offset).toBe(1);
    admin.disconnect();
    publisher.disconnect();
  });

  it("serves the history over HTTP after an offset, with binary data as $binary, and 400 for a bad query", async () => {
    const { nodes } = await twoNodes();
    const publisher = await connectSocket(nodes[0].url);
    await command(publisher, "room:join", { room: "docs/eu" });
    await publishTicks(publisher, "docs/eu", 1, 4);
    await command(publisher, "room:publish", { room: "docs/eu", event: "blob", data: Buffer.from([1, 2, 3]) });

    const url = `${nodes[1].url}/v1/namespaces/_/rooms/${encodeURIComponent("docs/eu")}/history`;
    const response = await fetch(`${url}?since=2&limit=2`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      epoch: expect.any(String),
      offset: 5,
      publications: [
        { offset: 3, id: expect.any(String), event: "tick", data: 3, ts: expect.any(Number) },
        { offset: 4, id: expect.any(String), event: "tick", data: 4, ts: expect.any(Number) },
      ],
    });
    const all = await (await fetch(url)).json();
    expect(all.publications.map((p: { offset: number }) => p.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(all.publications[4].data).toEqual({ $binary: Buffer.from([1, 2, 3]).toString("base64") });
    expect((await fetch(`${url}?limit=0`)).status).toBe(400);
    expect((await fetch(`${url}?since=-1`)).status).toBe(400);
  });

  it("merges the history reads of many members coming back at once", async () => {
    const { nodes } = await twoNodes();
    const [a, b] = nodes;
    const publisher = await connectSocket(a.url);
    const { epoch } = await command(publisher, "room:join", { room: "storm" });
    await publishTicks(publisher, "storm", 1, 10);
    const members = await Promise.all(Array.from({ length: 200 }, () => connectSocket(b.url)));
    const answers = await Promise.all(
      members.map((socket) => command(socket, "room:join", { room: "storm", since: { epoch, offset: 4 } })),
    );
    for (const answer of answers) expect(answer).toEqual({ ok: true, epoch, offset: 10, recovered: true });
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    const reads = Number(/mailroom_room_history_reads_total\{[^}]*namespace="\/"[^}]*\} (\d+)/.exec(metrics)?.[1]);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(50);
  });
});

describe.each(SUITE_DEPLOYMENTS)("room history on Redis in %s mode", (kind) => {
  const deployment = sharedDeployment(kind);

  it("recovers what a member missed while its node was SIGKILLed, on the other node", async () => {
    const [a, b] = await startCluster(2, nodeOptionsOn(await deployment()));
    const member = await connectSocket(a!.url);
    const { epoch } = await command(member, "room:join", { room: "deploy" });
    const publisher = await connectSocket(b!.url);
    await publishTicks(publisher, "deploy", 1, 2);
    await a!.kill();
    await publishTicks(publisher, "deploy", 3, 3);
    const back = await connectSocket(b!.url);
    const got = ticksOf(back);
    expect(await command(back, "room:join", { room: "deploy", since: { epoch, offset: 2 } })).toEqual({
      ok: true,
      epoch,
      offset: 5,
      recovered: true,
    });
    expect(got.map(([n]) => n)).toEqual([3, 4, 5]);
  });
});

describe("room history on the memory engine", () => {
  it("recovers after a reconnect, rewinds, and numbers publications from any transport", async () => {
    const node = await startNode();
    const member = await connectSocket(node.url);
    const { epoch } = await command(member, "room:join", { room: "solo" });
    const publisher = await connectSocket(node.url);
    await publishTicks(publisher, "solo", 1, 2);
    member.disconnect();
    await publishTicks(publisher, "solo", 3, 2);
    const http = await fetch(`${node.url}/v1/namespaces/_/rooms/solo/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ event: "tick", data: 5 }),
    });
    expect(await http.json()).toEqual({ id: expect.any(String), offset: 5, epoch });

    const back = await connectSocket(node.url);
    const got = ticksOf(back);
    expect(await command(back, "room:join", { room: "solo", since: { epoch, offset: 2 } })).toEqual({
      ok: true,
      epoch,
      offset: 5,
      recovered: true,
    });
    expect(got.map(([n, meta]) => [n, meta.offset])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    const live = nextEvent(back, "tick");
    await publishTicks(publisher, "solo", 6, 1);
    expect((await live)[0]).toBe(6);
    expect(got).toHaveLength(4);
  });

  it("keeps no history with --room-history-size 0: publications carry no offset, joins no position", async () => {
    const node = await startNode({ args: ["--room-history-size", "0"] });
    const member = await connectSocket(node.url);
    expect(await command(member, "room:join", { room: "plain" })).toEqual({ ok: true });
    const publisher = await connectSocket(node.url);
    const arrival = nextEvent(member, "tick");
    expect(await command(publisher, "room:publish", { room: "plain", event: "tick", data: 1 })).toEqual({
      ok: true,
      id: expect.any(String),
    });
    expect((await arrival)[1]).toEqual({ room: "plain", id: expect.any(String), ts: expect.any(Number) });
    expect((await fetch(`${node.url}/v1/namespaces/_/rooms/plain/history`)).status).toBe(404);
  });
});
