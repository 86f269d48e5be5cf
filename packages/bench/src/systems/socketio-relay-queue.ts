/**
 * The floor of Mailroom's stack, not a queue: what carrying a message from a producer on one Socket.IO
 * server to a consumer on another costs with nothing stored, on raw Socket.IO servers with
 * @socket.io/redis-adapter (peer-servers/socketio-server.ts) and the stock socket.io-client.
 * - Producer: one `publish` per message to the queue's room, awaited with its answer (the server answers
 *   as soon as it has handed the broadcast to the adapter, which publishes it on Redis without waiting).
 * - Consumer: joins the room; every message is its own event, answered by its own `ack` with a callback,
 *   which the server answers after one Redis command.
 * So each message crosses the hops any design on this stack needs (producer → server A → Redis → server B →
 * consumer → server B → Redis → server B → consumer, and A's answer to the producer), and nothing else: no
 * store, lease, order, redelivery or flow control. Mailroom's figures beside it say what the queue itself
 * costs on top of the stack. A message sent while no consumer has joined is lost: runs start the consumer
 * first (queue-systems.ts: isStackFloor).
 */
import type { Socket } from "socket.io-client";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem } from "./queue-system.js";
import { SharedConnections } from "./shared-connections.js";
import { openStockSocket, singleSendProducer } from "./stock-client.js";

/** How long an emit waits for the server's answer before it fails. */
const ANSWER_TIMEOUT_MS = 60_000;
/** The event a queue's messages are broadcast under. */
const MESSAGE_EVENT = "relay:message";

const sockets = new SharedConnections<Socket>(
  "a Socket.IO relay producer or consumer",
  (url) => openStockSocket(url),
  (socket) => socket.close(),
);

/** The room a queue's consumers join. */
function roomOf(queue: string): string {
  return `relay:${queue}`;
}

export const socketioRelayQueue: QueueSystem = {
  async producer(target, queue): Promise<QueueProducer> {
    const socket = await sockets.borrow(target.nodeUrl);
    const send = async (data: Payload) => {
      await socket
        .timeout(ANSWER_TIMEOUT_MS)
        .emitWithAck("publish", { room: roomOf(queue), event: MESSAGE_EVENT, data });
    };
    return singleSendProducer(send, () => sockets.release(target.nodeUrl));
  },

  async consumer(target, queue, listener): Promise<QueueConsumer> {
    const socket = await sockets.borrow(target.nodeUrl);
    let unanswered = 0;
    let whenAnswered: (() => void) | undefined;
    const failed = { count: 0, first: "" };
    const onMessage = (data: Payload, meta: { room?: string }) => {
      if (meta?.room !== roomOf(queue)) return;
      listener.received(data);
      unanswered += 1;
      socket.timeout(ANSWER_TIMEOUT_MS).emit("ack", queue, (error: Error | null, reply: { ok: boolean }) => {
        if (error || !reply.ok) {
          failed.count += 1;
          failed.first ||= error ? error.message : "refused";
        }
        unanswered -= 1;
        listener.settled();
        if (unanswered === 0) whenAnswered?.();
      });
    };
    socket.on(MESSAGE_EVENT, onMessage);
    await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck("join", roomOf(queue));
    return {
      async drained() {
        if (unanswered > 0) await new Promise<void>((resolve) => (whenAnswered = resolve));
        if (failed.count > 0) throw new Error(`${failed.count} acks of ${queue} failed (first: ${failed.first})`);
      },
      async close() {
        socket.off(MESSAGE_EVENT, onMessage);
        await sockets.release(target.nodeUrl);
      },
    };
  },
};
