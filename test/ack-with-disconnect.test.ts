/**
 * An ack or nack that a stock socket.io-client sends and disconnects right after, in the same turn: the
 * command and the close reach the node in one read. The node runs settlements from Socket.IO's
 * any-listener, in the packet's own tick (Socket.IO drops an event's listeners once the socket
 * disconnected), and gives a gone connection's leases back without those an ack or nack is settling.
 * Checked on Redis (whose acks wait a few ms for company, so the release would come first) and on the
 * memory engine.
 */
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const ROUNDS = 5;

/** A settlement sent right before the disconnect, and the queue's stats it must leave (a release: ready 1). */
const SETTLEMENTS = [
  {
    what: "an ack",
    emit: (queue: string, receipt: string) => ["queue:ack", { queue, receipts: [receipt] }] as const,
    leaves: { ready: 0, inflight: 0, delayed: 0 },
  },
  {
    what: "a nack with a delay",
    emit: (queue: string, receipt: string) => ["queue:nack", { queue, receipt, delayMs: 60_000 }] as const,
    leaves: { ready: 0, inflight: 0, delayed: 1 },
  },
];

describe.each(["redis", "memory"] as const)("a settlement sent together with the disconnect (%s engine)", (engine) => {
  it.each(SETTLEMENTS)("settles $what as sent: its message is not given back", async ({ what, emit, leaves }) => {
    const node =
      engine === "redis"
        ? await startNode({ redisUrl: (await startRedis()).url, prefix: freshPrefix() })
        : await startNode();
    const observer = await connectSocket(node.url);
    for (let round = 0; round < ROUNDS; round += 1) {
      const queue = `parting-${round}`;
      expect(await command(observer, "queue:send", { queue, data: round })).toMatchObject({ ok: true });
      const consumer = await connectSocket(node.url);
      const delivered = nextEvent(consumer, "queue:message");
      expect(await command(consumer, "queue:consume", { queue, prefetch: 10 })).toMatchObject({ ok: true });
      const [message] = (await delivered) as [{ receipt: string }];
      const [event, args] = emit(queue, message.receipt);
      consumer.emit(event, args, () => {});
      consumer.disconnect();
      const stats = await waitFor(
        async () => {
          const reply = await command(observer, "queue:stats", { queue });
          return reply.inflight === 0 && reply;
        },
        { what: `${queue}'s lease to end after ${what}` },
      );
      // Settled as the client asked, not released: a release would have put the message back as ready.
      expect(stats).toMatchObject({ ok: true, ...leaves });
    }
  });
});
