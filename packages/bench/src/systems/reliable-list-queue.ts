/**
 * The reliable-queue pattern on raw Redis lists with ioredis, one command per message: LPUSH to send;
 * BLMOVE from the queue to a processing list to receive (so a crashed worker's message is not lost);
 * LREM from the processing list to ack. `inFlight` workers, each on its own connection (BLMOVE blocks
 * it). No leases, retries, dead letters or fairness: the floor a broker on Redis lists is compared with.
 */
import { Redis } from "ioredis";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem } from "./queue-system.js";

/** How long one BLMOVE waits for a message before the worker checks whether it should stop, in s. */
const BLOCK_SECONDS = 0.2;

export const reliableListQueue: QueueSystem = {
  async producer(target, queue): Promise<QueueProducer> {
    const redis = new Redis(target.redisUrl);
    return {
      async sendOne(message) {
        await redis.lpush(queue, JSON.stringify(message));
      },
      async sendBatch(messages) {
        await Promise.all(messages.map((message) => redis.lpush(queue, JSON.stringify(message))));
      },
      async close() {
        redis.disconnect();
      },
    };
  },

  async consumer(target, queue, listener, { inFlight }): Promise<QueueConsumer> {
    const processing = `${queue}:processing`;
    let running = true;
    const work = async (redis: Redis) => {
      while (running) {
        const raw = await redis.blmove(queue, processing, "RIGHT", "LEFT", BLOCK_SECONDS);
        if (raw === null) continue;
        listener.received(JSON.parse(raw) as Payload);
        await redis.lrem(processing, 1, raw);
        listener.settled();
      }
    };
    const connections = Array.from({ length: inFlight }, () => new Redis(target.redisUrl));
    const workers = connections.map(work);
    return {
      async drained() {},
      async close() {
        running = false;
        await Promise.allSettled(workers);
        for (const redis of connections) redis.disconnect();
      },
    };
  },
};
