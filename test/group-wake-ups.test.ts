/**
 * When a grouped send wakes the queue's consumers on Redis (queue-send.lua): only when one of its messages
 * became takeable, that is when its group entered its rotation. A message that joins a group with a message
 * out, or a group already in its rotation, changes nothing a waiting consumer could take, and publishes
 * nothing. An ack that frees groups into their rotation wakes them only when that rotation held fewer than
 * two members: one with more holds a group that may be taken, so no consumer is waiting for it
 * (queue-lanes.lua: rotationGrew). A plain message put back on an empty plain list wakes them, though the
 * queue holds a message waiting behind its group's (pushPlain). Each check publishes a marker of its own
 * on the wake-up channel after the send and counts the wake-ups heard before the marker: Redis runs the
 * send's script before the marker's PUBLISH, and a subscriber hears a channel's messages in the order they
 * were published.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { NewMessage, QueueAddress } from "../packages/server/src/engines/queue-engine.js";
import { onCleanup } from "./helpers/cleanup.js";
import { newMessage } from "./helpers/new-message.js";
import { startEngineOnOwnRedis } from "./helpers/redis-engine.js";

const LONG_MS = 600_000;

function message(body: string, group: string): NewMessage {
  return newMessage(body, { group });
}

/** What the wake-up channel of `channel` carried since the last call, up to a marker published now. */
class WakeUpListener {
  private heard: string[] = [];
  private markers = 0;

  private constructor(
    private readonly subscriber: Redis,
    private readonly publisher: Redis,
    private readonly channel: string,
  ) {
    subscriber.on("message", (from: string, text: string) => {
      if (from === channel) this.heard.push(text);
    });
  }

  static async start(url: string, channel: string): Promise<WakeUpListener> {
    const subscriber = new Redis(url);
    const publisher = new Redis(url);
    onCleanup(async () => {
      subscriber.disconnect();
      publisher.disconnect();
    });
    await subscriber.subscribe(channel);
    return new WakeUpListener(subscriber, publisher, channel);
  }

  /** How many wake-ups were published since the last call. */
  async wakeUpsSinceLastLook(): Promise<number> {
    this.markers += 1;
    const marker = `marker-${this.markers}`;
    const heard = new Promise<void>((resolve) => {
      const onMessage = (from: string, text: string) => {
        if (from === this.channel && text === marker) {
          this.subscriber.off("message", onMessage);
          resolve();
        }
      };
      this.subscriber.on("message", onMessage);
    });
    await this.publisher.publish(this.channel, marker);
    await heard;
    const wakeUps = this.heard.filter((text) => !text.startsWith("marker-")).length;
    this.heard = [];
    return wakeUps;
  }
}

describe("a grouped send on Redis", () => {
  it("wakes the consumers when its group enters its rotation, and not when the group is out or already in it", async () => {
    const redis = await startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
    const address: QueueAddress = { namespace: "/", queue: `wake-ups-${randomUUID().slice(0, 8)}` };
    const listener = await WakeUpListener.start(redis.url, redis.keys.wakeChannel(address.namespace, address.queue));

    await redis.engine.send(address, [message("a1", "A")]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(1);
    const { leases } = await redis.engine.receive(address, 10, LONG_MS);
    expect(leases.map((lease) => lease.body.toString())).toEqual(["a1"]);

    // A is out: a2 waits behind a1's lease.
    await redis.engine.send(address, [message("a2", "A")]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(0);

    // B starts: it enters its rotation.
    await redis.engine.send(address, [message("b1", "B")]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(1);

    // B is in its rotation already.
    await redis.engine.send(address, [message("b2", "B")]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(0);

    // Nothing was lost: b1 now, then a2 once a1 is acked, then b2 once b1 is.
    const next = await redis.engine.receive(address, 10, LONG_MS);
    expect(next.leases.map((lease) => lease.body.toString())).toEqual(["b1"]);
    await redis.engine.ack(
      address,
      [...leases, ...next.leases].map((lease) => lease.receipt),
    );
    const last = await redis.engine.receive(address, 10, LONG_MS);
    expect(last.leases.map((lease) => lease.body.toString()).sort()).toEqual(["a2", "b2"]);
  });
});

describe("a grouped ack on Redis", () => {
  it("wakes the consumers when it frees a group into a rotation that held at most one member, and not into one of two", async () => {
    const redis = await startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
    const address: QueueAddress = { namespace: "/", queue: `ack-wake-ups-${randomUUID().slice(0, 8)}` };
    const listener = await WakeUpListener.start(redis.url, redis.keys.wakeChannel(address.namespace, address.queue));
    const bodies = (leases: { body: Buffer }[]) => leases.map((lease) => lease.body.toString());

    await redis.engine.send(address, [message("a1", "A"), message("a2", "A"), message("b1", "B"), message("c1", "C")]);
    await listener.wakeUpsSinceLastLook();
    const first = await redis.engine.receive(address, 1, LONG_MS);
    expect(bodies(first.leases)).toEqual(["a1"]);

    // A's next enters a rotation that holds B and C: every consumer with room finds them.
    await redis.engine.ack(
      address,
      first.leases.map((lease) => lease.receipt),
    );
    expect(await listener.wakeUpsSinceLastLook()).toBe(0);

    const rest = await redis.engine.receive(address, 10, LONG_MS);
    expect(bodies(rest.leases)).toEqual(["b1", "c1", "a2"]);
    await redis.engine.send(address, [message("b2", "B"), message("c2", "C")]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(0);

    // Every group is out: B's next enters an empty rotation, and C's one that holds B alone.
    const [b1, c1] = rest.leases;
    if (!b1 || !c1) throw new Error("b1 and c1 were received");
    await redis.engine.ack(address, [b1.receipt]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(1);
    await redis.engine.ack(address, [c1.receipt]);
    expect(await listener.wakeUpsSinceLastLook()).toBe(1);

    // Nothing was lost.
    const last = await redis.engine.receive(address, 10, LONG_MS);
    expect(bodies(last.leases)).toEqual(["b2", "c2"]);
  });
});

describe("a plain message put back on Redis", () => {
  it("wakes the consumers when the plain list was empty, though a grouped message waits behind its group's", async () => {
    const redis = await startEngineOnOwnRedis({ dedupWindowMs: LONG_MS });
    const address: QueueAddress = { namespace: "/", queue: `plain-back-${randomUUID().slice(0, 8)}` };
    const listener = await WakeUpListener.start(redis.url, redis.keys.wakeChannel(address.namespace, address.queue));

    await redis.engine.send(address, [message("m1", "G"), message("m2", "G"), newMessage("p1")]);
    const { leases } = await redis.engine.receive(address, 10, LONG_MS);
    expect(leases.map((lease) => lease.body.toString()).sort()).toEqual(["m1", "p1"]);
    await listener.wakeUpsSinceLastLook();

    // m2 waits behind m1: a consumer that pulls now finds nothing, and p1's return must wake it.
    const plain = leases.find((lease) => lease.body.toString() === "p1");
    if (!plain) throw new Error("p1 was received");
    await redis.engine.nack(address, plain.receipt, true, 0);
    expect(await listener.wakeUpsSinceLastLook()).toBe(1);
    const again = await redis.engine.receive(address, 10, LONG_MS);
    expect(again.leases.map((lease) => lease.body.toString())).toEqual(["p1"]);
  });
});
