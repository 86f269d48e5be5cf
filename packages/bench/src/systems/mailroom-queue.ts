/**
 * Mailroom's queues through @mailroom/client, as an application uses them: `send` / `sendBatch` on one
 * node, `consume` with a prefetch on another; the SDK acks each message when its handler resolves.
 * Sockets use the WebSocket transport only, as a Node.js client would. The producers and consumers of
 * one process that talk to the same node share one client (one socket), as an application's queues do;
 * it closes with the last of them.
 */
import { connect, type MailroomClient } from "@mailroom/client";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem, QueueTarget } from "./queue-system.js";

/** How often `drained` asks the node whether acks are all in. */
const DRAIN_POLL_MS = 5;

/** Node URL -> the client of this process on that node, and how many producers and consumers use it. */
const shared = new Map<string, { client: Promise<MailroomClient>; users: number }>();

async function connected(nodeUrl: string): Promise<MailroomClient> {
  const client = connect(nodeUrl, { transports: ["websocket"], timeoutMs: 60_000 });
  await client.ready();
  return client;
}

/** The process's client on the target's node, connecting it for its first user. */
function borrowClient(target: QueueTarget): Promise<MailroomClient> {
  const nodeUrl = target.nodeUrl;
  if (!nodeUrl) return Promise.reject(new Error("a Mailroom producer or consumer needs a node URL"));
  let entry = shared.get(nodeUrl);
  if (!entry) {
    const client = connected(nodeUrl);
    entry = { client, users: 0 };
    shared.set(nodeUrl, entry);
    // A client that could not connect is not kept for the next user.
    client.catch(() => shared.delete(nodeUrl));
  }
  entry.users += 1;
  return entry.client;
}

/** Closes the client once its last user is done with it. */
async function releaseClient(target: QueueTarget): Promise<void> {
  const entry = target.nodeUrl === undefined ? undefined : shared.get(target.nodeUrl);
  if (!entry || !target.nodeUrl) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  shared.delete(target.nodeUrl);
  (await entry.client).close();
}

export const mailroomQueue: QueueSystem = {
  async producer(target, queueName): Promise<QueueProducer> {
    const client = await borrowClient(target);
    const queue = client.queue<Payload>(queueName);
    return {
      async sendOne(message) {
        await queue.send(message);
      },
      async sendBatch(messages) {
        await queue.sendBatch(messages.map((data) => ({ data })));
      },
      async close() {
        await releaseClient(target);
      },
    };
  },

  async consumer(target, queueName, listener, { inFlight }): Promise<QueueConsumer> {
    const client = await borrowClient(target);
    const queue = client.queue<Payload>(queueName);
    const consumption = await queue
      .consume(
        (message) => {
          listener.received(message.data);
          listener.settled();
        },
        { prefetch: inFlight },
      )
      .catch(async (error: unknown) => {
        await releaseClient(target);
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
        await releaseClient(target);
      },
    };
  },
};
