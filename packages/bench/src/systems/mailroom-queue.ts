/**
 * Mailroom's queues through @mailroom/client, as an application uses them: `send` / `sendBatch` on one
 * node, `consume` with a prefetch on another; the SDK acks each message when its handler resolves.
 * Sockets use the WebSocket transport only, as a Node.js client would. The producers and consumers of
 * one process that talk to the same node share one client (one socket), as an application's queues do;
 * it closes with the last of them. A payload with a `group` is sent in that group (docs/protocol.md §11).
 */
import { connect, type MailroomClient } from "@mailroom/client";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem } from "./queue-system.js";
import { SharedConnections } from "./shared-connections.js";

/** How often `drained` asks the node whether acks are all in. */
const DRAIN_POLL_MS = 5;

/** The clients of this process, one per node. */
const clients = new SharedConnections<MailroomClient>("a Mailroom producer or consumer", connected, (client) =>
  client.close(),
);

async function connected(nodeUrl: string): Promise<MailroomClient> {
  const client = connect(nodeUrl, { transports: ["websocket"], timeoutMs: 60_000 });
  await client.ready();
  return client;
}

export const mailroomQueue: QueueSystem = {
  async producer(target, queueName): Promise<QueueProducer> {
    const client = await clients.borrow(target.nodeUrl);
    const queue = client.queue<Payload>(queueName);
    return {
      async sendOne(message) {
        await queue.send(message, { group: message.group });
      },
      async sendBatch(messages) {
        await queue.sendBatch(messages.map((data) => ({ data, group: data.group })));
      },
      async close() {
        await clients.release(target.nodeUrl);
      },
    };
  },

  async consumer(target, queueName, listener, { inFlight }): Promise<QueueConsumer> {
    const client = await clients.borrow(target.nodeUrl);
    const queue = client.queue<Payload>(queueName);
    const consumption = await queue
      .consume(
        (message) => {
          listener.received(message.data, { group: message.group, attempt: message.attempt });
          listener.settled();
        },
        { prefetch: inFlight },
      )
      .catch(async (error: unknown) => {
        await clients.release(target.nodeUrl);
        throw error;
      });
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
        await clients.release(target.nodeUrl);
      },
    };
  },
};
