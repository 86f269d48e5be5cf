/**
 * Mailroom's queues through @mailroom/client, as an application uses them: `send` / `sendBatch` on one
 * node, `consume` with a prefetch on another; the SDK acks each message when its handler resolves.
 * Sockets use the WebSocket transport only, as a Node.js client would.
 */
import { connect, type MailroomClient } from "@mailroom/client";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem, QueueTarget } from "./queue-system.js";

/** How often `drained` asks the node whether acks are all in. */
const DRAIN_POLL_MS = 5;

async function connected(target: QueueTarget): Promise<MailroomClient> {
  if (!target.nodeUrl) throw new Error("a Mailroom producer or consumer needs a node URL");
  const client = connect(target.nodeUrl, { transports: ["websocket"], timeoutMs: 60_000 });
  await client.ready();
  return client;
}

export const mailroomQueue: QueueSystem = {
  async producer(target, queueName): Promise<QueueProducer> {
    const client = await connected(target);
    const queue = client.queue<Payload>(queueName);
    return {
      async sendOne(message) {
        await queue.send(message);
      },
      async sendBatch(messages) {
        await queue.sendBatch(messages.map((data) => ({ data })));
      },
      async close() {
        client.close();
      },
    };
  },

  async consumer(target, queueName, listener, { inFlight }): Promise<QueueConsumer> {
    const client = await connected(target);
    const queue = client.queue<Payload>(queueName);
    const consumption = await queue.consume(
      (message) => {
        listener.received(message.data);
        listener.settled();
      },
      { prefetch: inFlight },
    );
    return {
      async drained() {
        for (;;) {
          const { inflight, ready } = await queue.stats();
          if (inflight === 0 && ready === 0) return;
          await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
        }
      },
      async close() {
        await consumption.cancel().catch(() => {});
        client.close();
      },
    };
  },
};
