/**
 * Binary data is the whole of a message's `data` or nothing (docs/protocol.md §3): binary inside an object
 * or an array is refused `BAD_REQUEST`, on queue sends, batch sends and room publishes, and nothing of it is
 * stored. Before the fix it was accepted and came back as `{ "type": "Buffer", "data": [...] }`, no longer
 * binary; and JSON shaped like a Socket.IO placeholder beside binary, in one message's data or in another
 * message of the same batch, was turned by Socket.IO's parser into that binary and stored so.
 * JSON that merely looks like a Buffer's JSON is JSON, and is accepted and delivered as it was.
 */
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { collect, command, connectSocket } from "./helpers/sockets.js";

const BYTES = Buffer.from([1, 2]);
const NESTED = [
  { what: "a Buffer in an object", data: { file: BYTES } },
  { what: "a Buffer in an array beside placeholder-shaped JSON", data: [BYTES, { _placeholder: true, num: 0 }] },
  { what: "a Buffer deep inside", data: { a: [{ b: { c: BYTES } }] } },
];

describe("binary inside data", () => {
  it("is refused in queue:send and queue:sendBatch with BAD_REQUEST, storing nothing", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    for (const [index, { what, data }] of NESTED.entries()) {
      const queue = `nested-${index}`;
      const single = await command(socket, "queue:send", { queue, data });
      expect(single, what).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
      expect(single.error.message, what).toMatch(/binary data must be the whole of data/);
      const batch = await command(socket, "queue:sendBatch", { queue, messages: [{ data: BYTES }, { data }] });
      expect(batch, what).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
      expect(await command(socket, "queue:stats", { queue }), what).toMatchObject({ ok: true, ready: 0 });
    }
  });

  it("is refused before names are looked at, wherever the bad message stands in a batch", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    const nested = { data: { file: BYTES } };
    const badId = { id: "bad/id", data: 1 };
    for (const messages of [
      [nested, badId],
      [badId, nested],
    ]) {
      const reply = await command(socket, "queue:sendBatch", { queue: "order", messages });
      expect(reply, JSON.stringify(messages.map((message) => Object.keys(message)))).toMatchObject({
        ok: false,
        error: { code: "BAD_REQUEST" },
      });
    }
  });

  it("refuses a batch where placeholder-shaped JSON beside binary data became that binary, storing nothing", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    // Socket.IO's parser turns the second message's JSON into the first message's attachment.
    const reply = await command(socket, "queue:sendBatch", {
      queue: "shared",
      messages: [{ data: BYTES }, { data: { _placeholder: true, num: 0 } }],
    });
    expect(reply).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(reply.error.message).toMatch(/same binary attachment/);
    expect(await command(socket, "queue:stats", { queue: "shared" })).toMatchObject({ ok: true, ready: 0 });
    // Two binary messages of their own are two attachments, and are taken.
    const two = await command(socket, "queue:sendBatch", {
      queue: "shared",
      messages: [{ data: BYTES }, { data: BYTES }],
    });
    expect(two).toMatchObject({ ok: true });
  });

  it("is refused in room:publish with BAD_REQUEST, and reaches no member", async () => {
    const node = await startNode();
    const member = await connectSocket(node.url);
    expect(await command(member, "room:join", { room: "r" })).toMatchObject({ ok: true });
    const received = collect(member, "update");
    const publisher = await connectSocket(node.url);
    for (const { what, data } of NESTED) {
      const reply = await command(publisher, "room:publish", { room: "r", event: "update", data });
      expect(reply, what).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    }
    // The data's shape is checked before the names, as for sends.
    const badRoom = await command(publisher, "room:publish", { room: "", event: "update", data: NESTED[0]?.data });
    expect(badRoom).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(badRoom.error.message).toMatch(/binary data must be the whole of data/);
    // A publish after them arrives alone: the refused ones went nowhere.
    expect(await command(publisher, "room:publish", { room: "r", event: "update", data: "after" })).toMatchObject({
      ok: true,
    });
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]?.[0]).toBe("after");
    expect(received[0]?.[1]).toMatchObject({ room: "r", offset: 1 });
  });

  it("is taken as the whole of data, and JSON shaped like a Buffer's JSON is taken as JSON", async () => {
    const node = await startNode();
    const socket = await connectSocket(node.url);
    const queue = "whole";
    const bufferLike = { type: "Buffer", data: [1, 2] };
    expect(await command(socket, "queue:send", { queue, data: BYTES })).toMatchObject({ ok: true });
    expect(await command(socket, "queue:send", { queue, data: { inner: bufferLike } })).toMatchObject({ ok: true });
    const received: unknown[] = [];
    socket.on("queue:message", (message: { data: unknown }) => received.push(message.data));
    expect(await command(socket, "queue:consume", { queue, prefetch: 2 })).toMatchObject({ ok: true });
    await expect.poll(() => received.length).toBe(2);
    expect(Buffer.from(received[0] as Uint8Array)).toEqual(BYTES);
    expect(received[1]).toEqual({ inner: bufferLike });
  });
});
