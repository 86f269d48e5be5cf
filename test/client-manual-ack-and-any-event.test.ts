/**
 * Two SDK additions the CLI speaks through, against a real node (memory engine): a consumption with
 * `autoAck: false` settles nothing by itself (the caller acks or nacks by receipt, whatever its handler
 * did), and `room.onAny` hears every event name published to its own room, and only that room's.
 */
import type { BroadcastMeta, ReceivedMessage } from "@mailroom/client";
import { describe, expect, it } from "vitest";
import { readyClient } from "./helpers/clients.js";
import { startNode } from "./helpers/nodes.js";
import { waitFor } from "./helpers/wait.js";

describe("consume with autoAck: false", () => {
  it("leaves a delivery in flight after its handler resolves, until the caller acks its receipt", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    const queue = client.queue("manual");
    await queue.send({ n: 1 });
    const received: ReceivedMessage[] = [];
    await queue.consume((message) => void received.push(message), { autoAck: false });

    const [message] = await waitFor(() => received.length === 1 && received);
    // The handler has resolved; with auto-acks the message would be gone by the next command.
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 1 });

    expect(await queue.ack([message!.receipt])).toEqual({ acked: 1, stale: [] });
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("does not nack a delivery whose handler throws: the caller's nack decides", async () => {
    const node = await startNode();
    const client = await readyClient(node.url);
    const queue = client.queue("manual-throw");
    await queue.send("x");
    const received: ReceivedMessage[] = [];
    await queue.consume(
      (message) => {
        received.push(message);
        throw new Error("the handler fails");
      },
      { autoAck: false },
    );

    const [message] = await waitFor(() => received.length === 1 && received);
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 1 });
    expect(received).toHaveLength(1);

    expect(await queue.nack(message!.receipt, { requeue: false })).toEqual({ deadLettered: true });
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
  });
});

describe("room.onAny", () => {
  it("hears every event name published to its room, with data and meta, and none of another room", async () => {
    const node = await startNode();
    const member = await readyClient(node.url);
    const publisher = await readyClient(node.url);
    const heard: Array<[string, unknown, BroadcastMeta]> = [];
    const room = member.room("tap");
    room.onAny((event, data, meta) => heard.push([event, data, meta]));
    await room.join();
    await member.room("elsewhere").join();

    await publisher.room("elsewhere").publish("noise", 0);
    const first = await publisher.room("tap").publish("price.update", { price: 12.5 });
    const second = await publisher.room("tap").publish("some event", null);

    await waitFor(() => heard.length === 2, { what: "both of the tap's broadcasts" });
    expect(heard).toEqual([
      [
        "price.update",
        { price: 12.5 },
        { room: "tap", id: first.id, ts: expect.any(Number), offset: expect.any(Number), epoch: expect.any(String) },
      ],
      [
        "some event",
        null,
        { room: "tap", id: second.id, ts: expect.any(Number), offset: expect.any(Number), epoch: expect.any(String) },
      ],
    ]);
  });

  it("stops once its returned function is called", async () => {
    const node = await startNode();
    const member = await readyClient(node.url);
    const publisher = await readyClient(node.url);
    const room = member.room("tap");
    const stopped: string[] = [];
    const stop = room.onAny((event) => stopped.push(event));
    stop();
    const still: string[] = [];
    room.onAny((event) => still.push(event));
    await room.join();

    await publisher.room("tap").publish("tick", 1);
    await waitFor(() => still.length === 1, { what: "the listener that was not stopped to hear the tick" });
    expect(stopped).toEqual([]);
  });
});
