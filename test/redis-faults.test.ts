/**
 * Redis going away and coming back (docs/protocol.md §6, §8; docs/protocol.md, "Mailroom's choices"), with real node processes:
 * while Redis is down a node stays alive (`/healthz` 200) but not ready (`/readyz` 503) and answers room
 * commands `UNAVAILABLE` at once, never a false ok; when Redis returns on the same port with no data, every
 * node becomes ready again by itself, writes its members back, and broadcasts flow between nodes again.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startCluster, startNode, TEST_NODE_TIMEOUT_MS } from "./helpers/nodes.js";
import { freshPrefix, type RedisHandle, startRedis } from "./helpers/redis.js";
import { type ClientSocket, collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

/** The contract's bound on how long a command may take to fail while Redis is down. */
const UNAVAILABLE_WITHIN_MS = 3000;
/** A short command timeout for the hung-Redis test, and what an answer may take beyond it on a busy machine. */
const HANG_COMMAND_TIMEOUT_MS = 1000;
const HANG_SLACK_MS = 500;
/** Generous bound on a node noticing that Redis went away or came back. */
const NOTICE_WITHIN_MS = 10_000;

function unavailable() {
  return { ok: false, error: { code: "UNAVAILABLE", message: expect.any(String) } };
}

async function status(node: NodeHandle, path: string): Promise<number> {
  return (await fetch(`${node.url}${path}`)).status;
}

function waitForStatus(node: NodeHandle, path: string, expected: number): Promise<true> {
  return waitFor(async () => (await status(node, path)) === expected || undefined, {
    timeoutMs: NOTICE_WITHIN_MS,
    what: `${path} on port ${node.port} to answer ${expected}`,
  });
}

/**
 * Polls `/healthz` of every node, one request after another, until `stop`; resolves with each answer
 * (a status, or the error of a request that failed), so a test can show the processes served throughout.
 */
function watchHealth(nodes: NodeHandle[]): { stop(): Promise<(number | string)[]> } {
  let watching = true;
  const answers: (number | string)[] = [];
  const loop = (async () => {
    while (watching) {
      for (const node of nodes) {
        answers.push(await status(node, "/healthz").catch((error: Error) => `${node.port}: ${error.message}`));
      }
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return answers;
    },
  };
}

async function joined(url: string, room: string): Promise<ClientSocket> {
  const socket = await connectSocket(url);
  expect(await command(socket, "room:join", { room })).toMatchObject({ ok: true });
  return socket;
}

/** Members as `[{ socket }]` sorted by socket id, from sockets or from a `room:members` reply. */
function sortedMembers(entries: { id?: string | undefined; socket?: string }[]): { socket: string }[] {
  return entries
    .map((entry) => ({ socket: String(entry.socket ?? entry.id) }))
    .sort((a, b) => a.socket.localeCompare(b.socket));
}

async function killRedisAndWaitUntilNoticed(redis: RedisHandle, nodes: NodeHandle[]): Promise<void> {
  await redis.kill();
  await Promise.all(nodes.map((node) => waitForStatus(node, "/readyz", 503)));
}

describe("Redis faults", () => {
  it("keeps a node alive but not ready while Redis is down, answering room commands UNAVAILABLE within 3 s", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const member = await joined(node.url, "lobby");
    const other = await connectSocket(node.url);
    expect(await status(node, "/readyz")).toBe(200);
    const health = watchHealth([node]);

    await killRedisAndWaitUntilNoticed(redis, [node]);

    const commands: [string, object][] = [
      ["room:publish", { room: "lobby", event: "news", data: 1 }],
      ["room:publish", { room: "lobby", event: "news", data: 2, echo: true }],
      ["room:join", { room: "lobby" }],
      ["room:join", { room: "elsewhere" }],
      ["room:members", { room: "lobby" }],
    ];
    for (const [event, args] of commands) {
      const sentAt = Date.now();
      const reply = await command(other, event, args);
      expect(reply, `${event} ${JSON.stringify(args)} while Redis is down`).toEqual(unavailable());
      expect(Date.now() - sentAt, `${event} answer time`).toBeLessThan(UNAVAILABLE_WITHIN_MS);
    }
    // A member's own publish is refused too: it cannot reach the rest of the cluster.
    expect(await command(member, "room:publish", { room: "lobby", event: "news", data: 3 })).toEqual(unavailable());

    expect(await status(node, "/readyz")).toBe(503);
    // Every /healthz answer during the outage was 200 (and there was at least one).
    expect([...new Set(await health.stop())]).toEqual([200]);
    expect(member.connected && other.connected).toBe(true);
  });

  it.each([
    { outage: "a brief outage", holdMs: 0 },
    { outage: "an outage longer than the node timeout", holdMs: TEST_NODE_TIMEOUT_MS * 2 },
  ])(
    "becomes ready by itself when Redis returns empty after $outage, and counts and delivers to members on both nodes",
    async ({ holdMs }) => {
      const redis = await startRedis();
      const nodes = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
      const [one, two] = nodes as [NodeHandle, NodeHandle];
      const onOne = await joined(one.url, "lobby");
      const onTwo = await joined(two.url, "lobby");
      const leaver = await joined(two.url, "lobby");
      const quitter = await joined(one.url, "lobby");
      const latecomer = await connectSocket(one.url);
      expect(await command(latecomer, "room:members", { room: "lobby" })).toMatchObject({ ok: true, count: 4 });
      const health = watchHealth(nodes);

      await killRedisAndWaitUntilNoticed(redis, nodes);
      // The outage itself, held for its length (setup, not an assertion): long enough, every heartbeat is stale.
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      // During the outage: a join is refused, a leave is answered (it is retried later), a member goes away.
      const sentAt = Date.now();
      expect(await command(latecomer, "room:join", { room: "lobby" })).toEqual(unavailable());
      expect(Date.now() - sentAt).toBeLessThan(UNAVAILABLE_WITHIN_MS);
      expect(await command(leaver, "room:leave", { room: "lobby" })).toEqual({ ok: true });
      quitter.disconnect();

      await redis.restart();
      await Promise.all(nodes.map((node) => waitForStatus(node, "/readyz", 200)));
      expect([...new Set(await health.stop())]).toEqual([200]);

      // Redis came back with nothing: each node must have written its remaining members back by itself.
      const expected = { ok: true, count: 2, members: sortedMembers([onOne, onTwo]) };
      for (const asker of [latecomer, onTwo]) {
        await waitFor(
          async () => {
            const reply = await command(asker, "room:members", { room: "lobby" });
            expect({ ...reply, members: sortedMembers(reply.members) }).toEqual(expected);
            return true;
          },
          { timeoutMs: 5000, what: "room:members to count the members of both nodes again" },
        );
      }

      // The same sockets, never reconnected, get broadcasts across nodes both ways.
      expect(onOne.connected && onTwo.connected).toBe(true);
      const notMembers = [latecomer, leaver].map((socket) => collect(socket, "news"));
      const toOne = nextEvent(onOne, "news");
      const fromTwo = await command(onTwo, "room:publish", { room: "lobby", event: "news", data: "from two" });
      expect(fromTwo).toEqual({
        ok: true,
        id: expect.any(String),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
      expect(await toOne).toEqual([
        "from two",
        {
          room: "lobby",
          id: fromTwo.id,
          ts: expect.any(Number),
          offset: expect.any(Number),
          epoch: expect.any(String),
        },
      ]);
      const toTwo = nextEvent(onTwo, "news");
      expect(await command(onOne, "room:publish", { room: "lobby", event: "news", data: "from one" })).toMatchObject({
        ok: true,
      });
      expect((await toTwo)[0]).toBe("from one");
      // The refused join left no trace, and the leave made during the outage held.
      expect(notMembers).toEqual([[], []]);

      // And the cluster takes new members again, counted everywhere.
      expect(await command(latecomer, "room:join", { room: "lobby" })).toMatchObject({ ok: true });
      const members = await command(onTwo, "room:members", { room: "lobby" });
      expect({ ...members, members: sortedMembers(members.members) }).toEqual({
        ok: true,
        count: 3,
        members: sortedMembers([onOne, onTwo, latecomer]),
      });
    },
  );

  it("refuses sends UNAVAILABLE while Redis is full (noeviction) but lets consumers drain it", async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
    const admin = new Redis(redis.url);
    onCleanup(async () => {
      await admin.quit();
    });
    const queued = await fetch(`${node.url}/v1/namespaces/_/queues/jobs/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "queued", data: "before" }),
    });
    expect(queued.status).toBe(201);
    await admin.config("SET", "maxmemory-policy", "noeviction");
    await admin.config("SET", "maxmemory", "1");
    const response = await fetch(`${node.url}/v1/namespaces/_/queues/jobs/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: "no room" }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      error: { code: "UNAVAILABLE", message: expect.stringMatching(/full/) },
    });
    await admin.config("SET", "maxmemory", "0");
    const retried = await fetch(`${node.url}/v1/namespaces/_/queues/jobs/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: "room again" }),
    });
    expect(retried.status).toBe(201);
  });

  it("answers sends UNAVAILABLE within one command timeout while Redis hangs, then at once until it answers", async () => {
    const redis = await startRedis();
    const node = await startNode({
      redisUrl: redis.url,
      prefix: freshPrefix(),
      args: ["--redis-command-timeout-ms", String(HANG_COMMAND_TIMEOUT_MS)],
    });
    const producer = await connectSocket(node.url);
    expect(await command(producer, "queue:send", { queue: "hung", data: 0 })).toMatchObject({ ok: true });
    redis.pause();
    onCleanup(() => redis.resume());

    // Eight producers at once, then one after another: none waits more than one timeout (plus slack).
    const started = Date.now();
    const together = await Promise.all(
      Array.from({ length: 8 }, (_, n) => command(producer, "queue:send", { queue: "hung", data: n })),
    );
    for (const reply of together) expect(reply).toEqual(unavailable());
    expect(Date.now() - started).toBeLessThan(HANG_COMMAND_TIMEOUT_MS + HANG_SLACK_MS);
    for (let n = 0; n < 5; n += 1) {
      const sentAt = Date.now();
      expect(await command(producer, "queue:send", { queue: "hung", data: n })).toEqual(unavailable());
      expect(Date.now() - sentAt, "a send while the connection is being made again").toBeLessThan(HANG_SLACK_MS);
    }

    redis.resume();
    await waitFor(async () => (await command(producer, "queue:send", { queue: "hung", data: "back" })).ok === true, {
      what: "sends accepted once Redis answers again",
    });
  });
});
