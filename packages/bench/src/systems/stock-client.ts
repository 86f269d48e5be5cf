/**
 * What the systems that use the stock `socket.io-client` share (Mailroom without the SDK, and the stack's
 * floor): how a socket is opened (WebSocket only, its own connection, no reconnection: a run fails rather
 * than hide a lost connection), and a producer that sends one message per emit.
 */
import { io, type Socket } from "socket.io-client";
import type { Payload } from "./payload.js";
import type { QueueProducer } from "./queue-system.js";

/** A connected stock socket to `url`; rejects when the connection fails. */
export async function openStockSocket<S extends Socket = Socket>(url: string): Promise<S> {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false }) as S;
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

/** A producer that sends each message with its own `send`, a batch as its messages all at once. */
export function singleSendProducer(
  send: (message: Payload) => Promise<void>,
  close: () => Promise<void>,
): QueueProducer {
  return {
    sendOne: send,
    async sendBatch(messages) {
      await Promise.all(messages.map(send));
    },
    close,
  };
}
