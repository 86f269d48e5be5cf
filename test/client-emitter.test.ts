/**
 * Broadcasts sent around the nodes with the stock `@socket.io/redis-emitter` (docs/protocol.md §4), as the
 * SDK's room handlers see them: with `emitterMeta(room)` as the argument after the data, a broadcast
 * reaches that room's handlers with its meta, and no other room's; without meta it reaches no room
 * handler (it cannot say which room it is for) but does reach `client.socket` listeners. A real node on a
 * Redis of the test's own, the real emitter on that Redis, and the SDK over WebSocket.
 */
import { type BroadcastMeta, emitterMeta, type MailroomClient, type Room } from "@mailroom/client";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { nextBroadcast, readyClient } from "./helpers/clients.js";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { within } from "./helpers/wait.js";

const NAMESPACE = "/ops";
const ARRIVAL_TIMEOUT_MS = 10_000;

/** A node on a fresh Redis, a client of it in NAMESPACE, and an emitter on that Redis. */
async function clientAndEmitter(): Promise<{ client: MailroomClient; emitter: Emitter }> {
  const redis = await startRedis();
  const node = await startNode({ redisUrl: redis.url, prefix: freshPrefix() });
  const client = await readyClient(node.url, { namespace: NAMESPACE });
  const connection = new Redis(redis.url);
  onCleanup(() => void connection.disconnect());
  return { client, emitter: new Emitter(connection) };
}

/** Everything a room's handler for `event` receives, in order. */
function received(room: Room, event: string): Array<[unknown, BroadcastMeta]> {
  const got: Array<[unknown, BroadcastMeta]> = [];
  room.on(event, (data, meta) => got.push([data, meta]));
  return got;
}

describe("@socket.io/redis-emitter broadcasts and SDK room handlers", () => {
  it("reach the handlers of the room named by emitterMeta(room), with that meta, and no other room's", async () => {
    const { client, emitter } = await clientAndEmitter();
    const alerts = client.room("alerts");
    const audit = client.room("audit");
    await alerts.join();
    await audit.join();
    const auditGot = received(audit, "alert");

    const arrival = nextBroadcast(alerts, "alert", ARRIVAL_TIMEOUT_MS);
    const meta = emitterMeta("alerts", { from: "monitoring" });
    emitter.of(NAMESPACE).to("alerts").emit("alert", { level: "high" }, meta);

    expect(await arrival).toEqual([{ level: "high" }, meta]);
    expect(meta).toEqual({ room: "alerts", id: expect.any(String), ts: expect.any(Number), from: "monitoring" });
    // One publish later through the same path: had the first reached audit's handler, it would be there now.
    const later = nextBroadcast(audit, "alert", ARRIVAL_TIMEOUT_MS);
    emitter.of(NAMESPACE).to("audit").emit("alert", "for audit", emitterMeta("audit"));
    await later;
    expect(auditGot.map(([data]) => data)).toEqual(["for audit"]);
  });

  it("carry binary data to the handler byte for byte", async () => {
    const { client, emitter } = await clientAndEmitter();
    const frames = client.room("frames");
    await frames.join();
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);

    const arrival = nextBroadcast(frames, "frame", ARRIVAL_TIMEOUT_MS);
    emitter.of(NAMESPACE).to("frames").emit("frame", bytes, emitterMeta("frames"));
    const [data] = await arrival;
    expect(data).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(data as Uint8Array), bytes)).toBe(0);
  });

  it("reach no room handler without meta, but reach the client's socket listeners", async () => {
    const { client, emitter } = await clientAndEmitter();
    const alerts = client.room("alerts");
    await alerts.join();
    const roomGot = received(alerts, "alert");
    const socketGot = new Promise<unknown[]>((resolve) => {
      client.socket.on("alert", (...args: unknown[]) => resolve(args));
    });

    emitter.of(NAMESPACE).to("alerts").emit("alert", { level: "low" });
    expect(await within(socketGot, ARRIVAL_TIMEOUT_MS, "the broadcast on the socket")).toEqual([{ level: "low" }]);
    // A broadcast with meta sent after it arrives after it: the one without meta reached no handler.
    const later = nextBroadcast(alerts, "alert", ARRIVAL_TIMEOUT_MS);
    emitter.of(NAMESPACE).to("alerts").emit("alert", { level: "high" }, emitterMeta("alerts"));
    await later;
    expect(roomGot.map(([data]) => data)).toEqual([{ level: "high" }]);
  });

  it("makes a fresh id and the current time for each meta, and keeps an id it is given", () => {
    const before = Date.now();
    const first = emitterMeta("alerts");
    const second = emitterMeta("alerts");
    expect(first.id).not.toBe(second.id);
    expect(first.ts).toBeGreaterThanOrEqual(before);
    expect(first.ts).toBeLessThanOrEqual(Date.now());
    expect(first).not.toHaveProperty("from");
    expect(emitterMeta("alerts", { id: "alert-17" }).id).toBe("alert-17");
  });
});
