/**
 * Mailroom's queues used the way a Socket.IO user does without our SDK: the stock `socket.io-client`
 * (WebSocket transport only) and the events of PROTOCOL.md §3-§4, nothing batched.
 * - Producer: one `queue:send` per message, awaited with `emitWithAck`. `sendBatch` emits one
 *   `queue:send` per message of the batch, all at once, and awaits them together; at saturation the
 *   bench calls it with batches of one from 64 lanes (`sendsOneAtATime` in queue-systems.ts,
 *   `singleSendWindow` in sizes.ts), so 64 single sends are in flight, as a plain Socket.IO emit-and-ack
 *   loop keeps them; at a steady rate the producer calls `sendOne` for each message.
 * - Consumer: `queue:consume { queue, prefetch }` without `batch`, so every delivery is its own
 *   `queue:message` event, and every message is acked by its own `queue:ack { queue, receipt }` with a
 *   callback; it counts as settled when the node answers that ack.
 * Every emit carries a timeout (`socket.timeout(ms)`, as the bench's raw Socket.IO peer does), so a node
 * that never answers fails the run instead of stalling it. A refused send rejects; a refused, stale or
 * unanswered ack is counted and makes `drained()` reject, since its message would come back.
 * The producers and consumers of one process on one node share one socket; deliveries are told apart by
 * their `queue`, so a process runs one consumer per queue. The socket does not reconnect: a node forgets
 * the consumers of a lost connection, and this client does not register them again.
 */
import type { Socket } from "socket.io-client";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem } from "./queue-system.js";
import { SharedConnections } from "./shared-connections.js";
import { openStockSocket, singleSendProducer } from "./stock-client.js";

/** How long an emit waits for the node's answer before it fails. */
const ANSWER_TIMEOUT_MS = 60_000;
/** How often `drained` asks the node whether acks are all in. */
const DRAIN_POLL_MS = 5;

/** A command's answer (PROTOCOL.md §3): `{ ok: true, ...result }` or `{ ok: false, error }`. */
type Reply<Result> = ({ ok: true } & Result) | { ok: false; error: { code: string; message: string } };
type Answer<Result> = (reply: Reply<Result>) => void;

/** The commands this client emits, with their answers (PROTOCOL.md §3). */
interface Commands {
  "queue:send": (args: { queue: string; data: Payload }, answer: Answer<{ id: string; duplicate: boolean }>) => void;
  "queue:consume": (args: { queue: string; prefetch: number }, answer: Answer<{ consumer: string }>) => void;
  "queue:cancel": (args: { consumer: string }, answer: Answer<object>) => void;
  "queue:ack": (args: { queue: string; receipt: string }, answer: Answer<{ acked: number; stale: string[] }>) => void;
  "queue:stats": (args: { queue: string }, answer: Answer<{ ready: number; inflight: number }>) => void;
}

/** The fields of a `queue:message` delivery (PROTOCOL.md §4) that this client reads. */
interface Delivery {
  queue: string;
  receipt: string;
  data: Payload;
}

interface Deliveries {
  "queue:message": (delivery: Delivery) => void;
}

type StockSocket = Socket<Deliveries, Commands>;

/** The sockets of this process, one per node. */
const sockets = new SharedConnections<StockSocket>(
  "a Mailroom stock-client producer or consumer",
  (url) => openStockSocket<StockSocket>(url),
  (socket) => socket.close(),
);

/** The result of an answered command; a refusal becomes an error that names the command and the code. */
function resultOf<Result>(command: string, reply: Reply<Result>): Result {
  if (reply.ok) return reply;
  throw new Error(`${command} refused: ${reply.error.code}: ${reply.error.message}`);
}

export const mailroomStockQueue: QueueSystem = {
  async producer(target, queue): Promise<QueueProducer> {
    const socket = await sockets.borrow(target.nodeUrl);
    const send = async (data: Payload) => {
      resultOf("queue:send", await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck("queue:send", { queue, data }));
    };
    return singleSendProducer(send, () => sockets.release(target.nodeUrl));
  },

  async consumer(target, queue, listener, { inFlight }): Promise<QueueConsumer> {
    const socket = await sockets.borrow(target.nodeUrl);
    const failedAcks = { count: 0, first: "" };
    const ackFailed = (why: string) => {
      failedAcks.count += 1;
      failedAcks.first ||= why;
    };
    const onDelivery = (delivery: Delivery) => {
      if (delivery.queue !== queue) return;
      listener.received(delivery.data);
      socket
        .timeout(ANSWER_TIMEOUT_MS)
        .emit("queue:ack", { queue, receipt: delivery.receipt }, (error: Error | null, reply) => {
          if (error) ackFailed(`no answer: ${error.message}`);
          else if (!reply.ok) ackFailed(`${reply.error.code}: ${reply.error.message}`);
          else if (reply.stale.length > 0) ackFailed(`stale receipt ${delivery.receipt}`);
          listener.settled();
        });
    };
    // Listening before consuming: the first deliveries may reach the socket before the command's answer.
    socket.on("queue:message", onDelivery);
    let consumer: string;
    try {
      const reply = await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck("queue:consume", { queue, prefetch: inFlight });
      consumer = resultOf("queue:consume", reply).consumer;
    } catch (error) {
      socket.off("queue:message", onDelivery);
      await sockets.release(target.nodeUrl);
      throw error;
    }
    return {
      async drained() {
        if (failedAcks.count > 0) {
          throw new Error(`${failedAcks.count} acks of ${queue} failed (first: ${failedAcks.first})`);
        }
        for (;;) {
          const reply = await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck("queue:stats", { queue });
          const { inflight, ready } = resultOf("queue:stats", reply);
          if (inflight === 0 && ready === 0) return;
          await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
        }
      },
      async close() {
        socket.off("queue:message", onDelivery);
        await socket
          .timeout(ANSWER_TIMEOUT_MS)
          .emitWithAck("queue:cancel", { consumer })
          .catch(() => {});
        await sockets.release(target.nodeUrl);
      },
    };
  },
};
