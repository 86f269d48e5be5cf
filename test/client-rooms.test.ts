/**
 * The SDK's rooms (`@mailroom/client`) against real node processes on one Redis: broadcasts reach a
 * handler on another node with their meta, a handler hears only its own room, members count the whole
 * cluster, errors carry the contract's codes, a client re-joins its rooms after its node restarts, binary
 * arrives byte-exact, and commands fail with UNAVAILABLE when no node answers.
 */
import { connect, MailroomError } from "@mailroom/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { nextBroadcast, readyClient } from "./helpers/clients.js";
import { type NodeHandle, startNode, startTwoNodesOnRedis } from "./helpers/nodes.js";
import { waitFor, within } from "./helpers/wait.js";

/** Short enough that a command to a dead node fails quickly, long enough for a loaded test machine. */
const SHORT_TIMEOUT_MS = 500;

const twoNodes = startTwoNodesOnRedis;

/**
 * A client on `nodeA` joins a room (and leaves another); after `outage` it must reconnect to node A on
 * its own, be the room's one member (as a client on `nodeB` sees it) under its new socket id, receive a
 * publish again, and not be back in the room it left.
 */
async function expectRejoinAfter(nodeA: NodeHandle, nodeB: NodeHandle, outage: () => Promise<void>): Promise<void> {
  const member = await readyClient(nodeA.url);
  const observer = await readyClient(nodeB.url);
  // Made first, so that a wrong re-join of it would be sent before the one of news.
  const left = member.room("archive");
  await left.join();
  await left.leave();
  const room = member.room("news");
  await room.join();
  const idBeforeOutage = member.id;

  await outage();
  // A reconnect is a new socket: the room counts one member, and it is the client's new socket.
  await waitFor(
    async () => {
      const { count, members } = await observer.room("news").members();
      return count === 1 && member.id !== idBeforeOutage && members[0]?.socket === member.id;
    },
    { timeoutMs: 20_000, what: "the client to reconnect to node A and re-join news" },
  );

  const arrival = nextBroadcast(room, "headline");
  const { id } = await observer.room("news").publish("headline", "back again");
  const [data, meta] = await arrival;
  expect(data).toBe("back again");
  expect(meta.id).toBe(id);
  expect(room.joined).toBe(true);
  expect(left.joined).toBe(false);
  expect((await observer.room("archive").members()).count).toBe(0);
}

describe("client rooms across nodes", () => {
  it("delivers a publish from a client on node B to a member's handler on node A, with the publish's id", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const member = await readyClient(nodeA.url);
    const publisher = await readyClient(nodeB.url);
    const room = member.room("chat/general");
    await room.join();

    const arrival = nextBroadcast(room, "message");
    const { id } = await publisher.room("chat/general").publish("message", { text: "hello" });

    const [data, meta] = await arrival;
    expect(data).toEqual({ text: "hello" });
    expect(meta).toEqual({
      room: "chat/general",
      id,
      ts: expect.any(Number),
      offset: expect.any(Number),
      epoch: expect.any(String),
    });
  });

  it("gives a handler only the broadcasts of its own room when two rooms share an event name", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const member = await readyClient(nodeA.url);
    const publisher = await readyClient(nodeB.url);
    const [red, blue] = [member.room("red"), member.room("blue")];
    await Promise.all([red.join(), blue.join()]);
    const redGot: unknown[] = [];
    const blueGot: unknown[] = [];
    red.on("paint", (data) => redGot.push(data));
    blue.on("paint", (data) => blueGot.push(data));

    await publisher.room("blue").publish("paint", "for blue");
    await publisher.room("red").publish("paint", "for red");

    // Both broadcasts reached the socket once each handler has one, so neither can get another.
    await waitFor(() => redGot.length === 1 && blueGot.length === 1, { what: "one paint per room" });
    expect(redGot).toEqual(["for red"]);
    expect(blueGot).toEqual(["for blue"]);
  });

  it("stops calling a handler once it is unsubscribed", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const member = await readyClient(nodeA.url);
    const publisher = await readyClient(nodeB.url);
    const room = member.room("ticker");
    await room.join();
    const stoppedGot: unknown[] = [];
    const stop = room.on("tick", (data) => stoppedGot.push(data));
    stop();

    const arrival = nextBroadcast(room, "tick");
    await publisher.room("ticker").publish("tick", 1);
    expect((await arrival)[0]).toBe(1);
    expect(stoppedGot).toEqual([]);
  });

  it("counts and lists members joined through nodes A and B", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const onA = await readyClient(nodeA.url);
    const onB = await readyClient(nodeB.url);
    await onA.room("lobby").join();
    await onB.room("lobby").join();

    // A node counts in members only from its first heartbeat, which can come just after /readyz answers.
    const all = await waitFor(
      async () => {
        const result = await onB.room("lobby").members();
        return result.count === 2 && result;
      },
      { what: "both nodes' members to count" },
    );
    expect(all.members.map((member) => member.socket).sort()).toEqual([onA.id, onB.id].sort());

    await onA.room("lobby").leave();
    expect(await onB.room("lobby").members()).toEqual({ count: 1, members: [{ socket: onB.id }] });
  });

  it("re-joins its rooms by itself after its node restarts, and receives broadcasts again", async () => {
    const [nodeA, nodeB] = await twoNodes();
    await expectRejoinAfter(nodeA, nodeB, () => nodeA.restart());
  });

  it("reconnects and re-joins after its node drains (SIGTERM) and starts again", async () => {
    const [nodeA, nodeB] = await twoNodes();
    await expectRejoinAfter(nodeA, nodeB, async () => {
      expect(await nodeA.stop()).toBe(0);
      await nodeA.restart();
    });
  });

  it("delivers binary data published through the client byte-exact", async () => {
    const [nodeA, nodeB] = await twoNodes();
    const member = await readyClient(nodeA.url);
    const publisher = await readyClient(nodeB.url);
    const room = member.room("frames");
    await room.join();
    const bytes = Uint8Array.from({ length: 4096 }, (_, index) => (index * 131 + 7) % 256);

    const arrival = nextBroadcast(room, "frame");
    await publisher.room("frames").publish("frame", bytes);

    const [data] = await arrival;
    expect(data).toBeInstanceOf(Uint8Array);
    expect([...(data as Uint8Array)]).toEqual([...bytes]);
  });
});

describe("client errors", () => {
  it("rejects joining an empty room name with INVALID_NAME", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);

    const joining = client.room("").join();
    await expect(joining).rejects.toBeInstanceOf(MailroomError);
    await expect(joining).rejects.toMatchObject({ code: "INVALID_NAME" });
    expect(client.room("").joined).toBe(false);
  });

  it("rejects publishing under a reserved event name with RESERVED_EVENT", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);

    const publishing = client.room("lobby").publish("room:x", { sneaky: true });
    await expect(publishing).rejects.toBeInstanceOf(MailroomError);
    await expect(publishing).rejects.toMatchObject({ code: "RESERVED_EVENT" });
  });

  it("refuses a handler under a reserved event name and a namespace that breaks the name rule", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);

    expect(() => client.room("lobby").on("connect", () => {})).toThrow(
      expect.objectContaining({ code: "RESERVED_EVENT" }),
    );
    expect(() => connect(node.url, { namespace: "orders" })).toThrow(expect.objectContaining({ code: "INVALID_NAME" }));
  });

  it("rejects a command with UNAVAILABLE when its node is gone", async () => {
    const node = await startNode();
    const client = await readyClient(node.url, { timeoutMs: SHORT_TIMEOUT_MS });
    const disconnected = within(
      new Promise((resolve) => client.socket.once("disconnect", resolve)),
      10_000,
      "the client to see its node go",
    );
    await node.kill();
    await disconnected;

    await expect(client.room("lobby").join()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("rejects ready() with UNAVAILABLE when no node listens", async () => {
    const node = await startNode();
    await node.kill();
    const client = connect(node.url, { transports: ["websocket"], reconnection: false });
    onCleanup(() => client.close());

    await expect(client.ready()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("fails every command with UNAVAILABLE once closed, and leaves no listener on its socket", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    client.room("lobby").on("message", () => {});
    client.close();

    expect(client.socket.connected).toBe(false);
    expect(client.socket.hasListeners("connect")).toBe(false);
    expect(client.socket.hasListeners("message")).toBe(false);
    await expect(client.room("lobby").members()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(client.ready()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});

describe("client handles", () => {
  it("hands out one handle per room name", () => {
    const client = connect("http://127.0.0.1:9", { autoConnect: false });
    onCleanup(() => client.close());
    expect(client.room("a")).toBe(client.room("a"));
    expect(client.room("a")).not.toBe(client.room("b"));
  });

  it("types publish and handlers by the room's event map", () => {
    const client = connect("http://127.0.0.1:9", { autoConnect: false });
    onCleanup(() => client.close());
    const chat = client.room<{ message: { text: string } }>("chat");
    expectTypeOf(chat.publish<"message">)
      .parameter(1)
      .toEqualTypeOf<{ text: string }>();
    expectTypeOf(chat.on<"message">)
      .parameter(1)
      .parameter(0)
      .toEqualTypeOf<{ text: string }>();
    expectTypeOf(client.room("any").on).parameter(1).parameter(0).toBeUnknown();
    // Checked by the compiler only (`npm run typecheck`): never called.
    const misuses = () => {
      // @ts-expect-error: the map has no such event
      void chat.publish("typo", { text: "hi" });
      // @ts-expect-error: the data does not match the event
      void chat.publish("message", { body: "hi" });
    };
    expect(misuses).toBeTypeOf("function");
  });
});
