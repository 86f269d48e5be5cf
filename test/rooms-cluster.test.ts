/**
 * Rooms across three node processes on one Redis, and with `npm run test:deployments` on a Redis Cluster
 * and Sentinel too (docs/protocol.md §3, §4, §14): broadcasts reach members on every
 * node with their meta, echo, leave, namespaces as separate spaces, cluster-wide members that heal after
 * a SIGKILL, byte-exact binary, the stock Redis emitter, private rooms, and both transports.
 */
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startCluster, TEST_NODE_TIMEOUT_MS } from "./helpers/nodes.js";
import {
  nodeOptionsOn,
  type RedisDeployment,
  SUITE_DEPLOYMENTS,
  sharedDeployment,
} from "./helpers/redis-deployments.js";
import { collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

/** A client of the deployment's master, for the stock emitter (a Redis Cluster needs `--adapter classic`: §14). */
function masterClient(deployment: RedisDeployment): Redis {
  if (deployment.kind !== "sentinel") return new Redis(deployment.url);
  const sentinels = deployment.url.split(",").map((url) => new URL(url));
  return new Redis({
    sentinels: sentinels.map(({ hostname, port }) => ({ host: hostname, port: Number(port) })),
    name: deployment.sentinelMaster,
  });
}

async function joined(url: string, room: string, namespace = "/") {
  const socket = await connectSocket(url, namespace);
  expect(await command(socket, "room:join", { room })).toMatchObject({ ok: true });
  return socket;
}

describe.each(SUITE_DEPLOYMENTS)("rooms across nodes on Redis in %s mode", (kind) => {
  const deployment = sharedDeployment(kind);

  async function threeNodes(): Promise<{ nodes: NodeHandle[]; deployment: RedisDeployment }> {
    const shared = await deployment();
    return { nodes: await startCluster(3, nodeOptionsOn(shared)), deployment: shared };
  }

  it("delivers a publish on node 3 to members on nodes 1 and 2 with meta, but not to the publisher", async () => {
    const { nodes } = await threeNodes();
    const [one, two, three] = nodes as [NodeHandle, NodeHandle, NodeHandle];
    const memberOne = await joined(one.url, "lobby");
    const memberTwo = await joined(two.url, "lobby");
    const publisher = await joined(three.url, "lobby");
    const publisherGot = collect(publisher, "greeting");

    const arrivals = Promise.all([nextEvent(memberOne, "greeting"), nextEvent(memberTwo, "greeting")]);
    const reply = await command(publisher, "room:publish", { room: "lobby", event: "greeting", data: { hello: 1 } });
    expect(reply).toMatchObject({ ok: true, id: expect.any(String) });

    for (const [data, meta] of await arrivals) {
      expect(data).toEqual({ hello: 1 });
      expect(meta).toEqual({
        room: "lobby",
        id: reply.id,
        ts: expect.any(Number),
        offset: expect.any(Number),
        epoch: expect.any(String),
      });
    }
    // A second publish with echo proves the publisher's socket works, and that only echo reaches it.
    const echoed = nextEvent(publisher, "greeting");
    await command(publisher, "room:publish", { room: "lobby", event: "greeting", data: 2, echo: true });
    expect((await echoed)[0]).toBe(2);
    expect(publisherGot.map(([data]) => data)).toEqual([2]);
  });

  it("stops delivering to a socket that left the room", async () => {
    const { nodes } = await threeNodes();
    const leaver = await joined(nodes[0]!.url, "news");
    const stayer = await joined(nodes[1]!.url, "news");
    const leaverGot = collect(leaver, "story");
    expect(await command(leaver, "room:leave", { room: "news" })).toEqual({ ok: true });

    const publisher = await connectSocket(nodes[2]!.url);
    const first = nextEvent(stayer, "story");
    await command(publisher, "room:publish", { room: "news", event: "story", data: "a" });
    await first;
    // The stayer got the publish, so it has passed every node; the leaver must have nothing.
    expect(leaverGot).toEqual([]);
  });

  it("keeps the same room name in two namespaces apart", async () => {
    const { nodes } = await threeNodes();
    const inA = await joined(nodes[0]!.url, "shared", "/a");
    const inB = await joined(nodes[1]!.url, "shared", "/b");
    const bGot = collect(inB, "ping");
    const publisherA = await connectSocket(nodes[2]!.url, "/a");

    const arrival = nextEvent(inA, "ping");
    await command(publisherA, "room:publish", { room: "shared", event: "ping", data: "to a" });
    expect((await arrival)[0]).toBe("to a");
    expect(bGot).toEqual([]);

    const membersA = await command(publisherA, "room:members", { room: "shared" });
    const membersB = await command(inB, "room:members", { room: "shared" });
    expect(membersA).toEqual({ ok: true, count: 1, members: [{ socket: inA.id }] });
    expect(membersB).toEqual({ ok: true, count: 1, members: [{ socket: inB.id }] });
  });

  it("counts members across the cluster, and drops a SIGKILLed node's members within the timeout", async () => {
    const { nodes } = await threeNodes();
    const [one, two, three] = nodes as [NodeHandle, NodeHandle, NodeHandle];
    const a = await joined(one.url, "team");
    const b = await joined(two.url, "team");
    const c = await joined(two.url, "team");
    const asker = await connectSocket(three.url);

    const before = await command(asker, "room:members", { room: "team" });
    expect(before.count).toBe(3);
    expect(before.members.map((member: { socket: string }) => member.socket).sort()).toEqual([a.id, b.id, c.id].sort());

    const killedAt = Date.now();
    await two.kill();
    const after = await waitFor(
      async () => {
        const reply = await command(asker, "room:members", { room: "team" });
        return reply.count === 1 ? reply : undefined;
      },
      { timeoutMs: TEST_NODE_TIMEOUT_MS * 4, what: "the killed node's members to drop out" },
    );
    expect(Date.now() - killedAt).toBeLessThan(TEST_NODE_TIMEOUT_MS * 3);
    expect(after.members).toEqual([{ socket: a.id }]);
  });

  it("delivers binary data byte-exact", async () => {
    const { nodes } = await threeNodes();
    const member = await joined(nodes[0]!.url, "files");
    const publisher = await connectSocket(nodes[1]!.url);
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 31) % 256));

    const arrival = nextEvent(member, "blob");
    await command(publisher, "room:publish", { room: "files", event: "blob", data: bytes });
    const [data] = await arrival;
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(Buffer.compare(data as Buffer, bytes)).toBe(0);
  });

  // On a cluster the default adapter is sharded, which the emitter cannot reach (redis-deployments.test.ts).
  it.skipIf(kind === "cluster")("lets the stock @socket.io/redis-emitter reach members on every node", async () => {
    const { nodes, deployment: shared } = await threeNodes();
    const first = await joined(nodes[0]!.url, "alerts", "/ops");
    const second = await joined(nodes[1]!.url, "alerts", "/ops");
    const redis = masterClient(shared);
    onCleanup(() => void redis.disconnect());
    const emitter = new Emitter(redis);

    const arrivals = Promise.all([nextEvent(first, "alert"), nextEvent(second, "alert")]);
    emitter.of("/ops").to("alerts").emit("alert", { level: "high" });
    for (const [data] of await arrivals) expect(data).toEqual({ level: "high" });
  });

  it("never reaches a socket through its private room", async () => {
    const { nodes } = await threeNodes();
    const victim = await connectSocket(nodes[0]!.url);
    const victimGot = collect(victim, "sneak");
    const attacker = await joined(nodes[1]!.url, victim.id as string);

    // Joining the victim's id made a room of the attacker's own: the victim is not in it.
    const members = await command(attacker, "room:members", { room: victim.id });
    expect(members).toEqual({ ok: true, count: 1, members: [{ socket: attacker.id }] });

    const echo = nextEvent(attacker, "sneak");
    await command(attacker, "room:publish", { room: victim.id, event: "sneak", data: 1, echo: true });
    await echo;
    const stranger = await connectSocket(nodes[2]!.url);
    const second = nextEvent(attacker, "sneak");
    await command(stranger, "room:publish", { room: victim.id, event: "sneak", data: 2 });
    await second;
    expect(victimGot).toEqual([]);
  });

  it("lets a socket join a room named after its own id and receive what is published there", async () => {
    const { nodes } = await threeNodes();
    const self = await connectSocket(nodes[0]!.url);
    await command(self, "room:join", { room: self.id });
    const publisher = await connectSocket(nodes[1]!.url);
    const arrival = nextEvent(self, "note");
    await command(publisher, "room:publish", { room: self.id, event: "note", data: "mine" });
    expect((await arrival)[0]).toBe("mine");
  });

  it("works over the polling transport as well as websocket", async () => {
    const { nodes } = await threeNodes();
    const polling = await connectSocket(nodes[0]!.url, "/", { transports: ["polling"] });
    expect(await command(polling, "room:join", { room: "mixed" })).toMatchObject({ ok: true });
    const websocket = await joined(nodes[1]!.url, "mixed");

    const toPolling = nextEvent(polling, "hi");
    await command(websocket, "room:publish", { room: "mixed", event: "hi", data: "from ws" });
    expect((await toPolling)[0]).toBe("from ws");

    const toWebsocket = nextEvent(websocket, "hi");
    await command(polling, "room:publish", { room: "mixed", event: "hi", data: "from polling" });
    expect((await toWebsocket)[0]).toBe("from polling");
  });
});
