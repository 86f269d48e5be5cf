/**
 * JSON data shaped like a Socket.IO binary placeholder (`{ "_placeholder": true, "num": N }`) reaches
 * consumers and room members as that JSON, beside other parties' binary data or not (docs/protocol.md §15).
 * Before the fix, one producer's placeholder-shaped JSON in a `queue:messages` batch beside another's
 * binary message came out as the other message's bytes, and an out-of-range `num` broke the consumer's
 * parser and its connection, so every message of its pulls ended in the dead-letter queue.
 */
import { describe, expect, it } from "vitest";
import { readyClient } from "./helpers/clients.js";
import { startNode } from "./helpers/nodes.js";
import { type ClientSocket, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const QUEUE = "mixed";
const PLACEHOLDER_IN_RANGE = { _placeholder: true, num: 0 };
const PLACEHOLDER_OUT_OF_RANGE = { _placeholder: true, num: 7 };
const BYTES = Buffer.from([1, 2, 3, 4]);

/** Sends, from two producers, a binary message between placeholder-shaped JSON messages. */
async function sendMixed(url: string): Promise<void> {
  const binaryProducer = await connectSocket(url);
  const jsonProducer = await connectSocket(url);
  for (const [producer, data] of [
    [jsonProducer, PLACEHOLDER_IN_RANGE],
    [binaryProducer, BYTES],
    [jsonProducer, PLACEHOLDER_OUT_OF_RANGE],
    [binaryProducer, BYTES],
    [jsonProducer, { nested: [PLACEHOLDER_IN_RANGE] }],
  ] as const) {
    expect(await command(producer, "queue:send", { queue: QUEUE, data })).toMatchObject({ ok: true });
  }
}

function expectExact(received: unknown[]): void {
  expect(received).toHaveLength(5);
  expect(received[0]).toEqual(PLACEHOLDER_IN_RANGE);
  expect(Buffer.from(received[1] as Uint8Array)).toEqual(BYTES);
  expect(received[2]).toEqual(PLACEHOLDER_OUT_OF_RANGE);
  expect(Buffer.from(received[3] as Uint8Array)).toEqual(BYTES);
  expect(received[4]).toEqual({ nested: [PLACEHOLDER_IN_RANGE] });
}

describe("placeholder-shaped JSON beside binary data", () => {
  it("reaches a stock client consuming in batches as the JSON it was, in order, without a disconnect", async () => {
    const node = await startNode();
    await sendMixed(node.url);
    const consumer = await connectSocket(node.url);
    let disconnected = false;
    consumer.on("disconnect", () => {
      disconnected = true;
    });
    const received: unknown[] = [];
    consumer.on("queue:messages", (messages: { data: unknown; receipt: string }[]) => {
      for (const message of messages) received.push(message.data);
    });
    const reply = await command(consumer, "queue:consume", { queue: QUEUE, prefetch: 10, batch: true });
    expect(reply).toMatchObject({ ok: true });
    await waitFor(() => received.length >= 5, { what: "five deliveries" });
    expectExact(received);
    // The connection still works: a command round trip after the deliveries.
    expect(await command(consumer, "queue:stats", { queue: QUEUE })).toMatchObject({ ok: true, inflight: 5 });
    expect(disconnected).toBe(false);
  });

  it("reaches a stock client consuming one message at a time as the JSON it was", async () => {
    const node = await startNode();
    await sendMixed(node.url);
    const consumer = await connectSocket(node.url);
    const received: unknown[] = [];
    consumer.on("queue:message", (message: { data: unknown }) => received.push(message.data));
    await command(consumer, "queue:consume", { queue: QUEUE, prefetch: 10 });
    await waitFor(() => received.length >= 5, { what: "five deliveries" });
    expectExact(received);
  });

  it("reaches the SDK's handler as the JSON it was, and nothing is dead-lettered", async () => {
    const node = await startNode();
    await sendMixed(node.url);
    const client = await readyClient(node.url);
    const received: unknown[] = [];
    await client.queue(QUEUE).consume(
      async (message) => {
        received.push(message.data);
      },
      { prefetch: 10 },
    );
    await waitFor(() => received.length >= 5, { what: "five handled messages" });
    expectExact(received);
    await waitFor(async () => (await client.queue(QUEUE).stats()).inflight === 0, { what: "every message acked" });
    expect(await client.queue(QUEUE).stats()).toMatchObject({ ready: 0, inflight: 0, deadLettered: 0 });
  });

  it("reaches room members as the JSON it was, from Socket.IO and HTTP publishers, beside binary publishes", async () => {
    const node = await startNode();
    const member: ClientSocket = await connectSocket(node.url);
    expect(await command(member, "room:join", { room: "r" })).toMatchObject({ ok: true });
    const received: unknown[] = [];
    member.on("update", (data: unknown) => received.push(data));
    const publisher = await connectSocket(node.url);
    await command(publisher, "room:publish", { room: "r", event: "update", data: PLACEHOLDER_OUT_OF_RANGE });
    await command(publisher, "room:publish", { room: "r", event: "update", data: BYTES });
    const response = await fetch(`${node.url}/v1/namespaces/_/rooms/r/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ event: "update", data: PLACEHOLDER_IN_RANGE }),
    });
    expect(response.status).toBe(202);
    await waitFor(() => received.length >= 3, { what: "three broadcasts" });
    expect(received[0]).toEqual(PLACEHOLDER_OUT_OF_RANGE);
    expect(Buffer.from(received[1] as Uint8Array)).toEqual(BYTES);
    expect(received[2]).toEqual(PLACEHOLDER_IN_RANGE);
    expect(member.connected).toBe(true);
  });
});
