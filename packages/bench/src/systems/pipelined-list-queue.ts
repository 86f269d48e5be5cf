/**
 * The same reliable-list pattern as reliable-list-queue.ts, pipelined 100 commands at a time: a batch
 * of sends is one pipeline of LPUSHes; a worker takes up to 100 messages with one pipeline of LMOVEs
 * and acks them with one pipeline of LREMs, and blocks (BLMOVE) only when the queue is empty.
 * What batching buys on raw Redis: the ceiling for Redis CPU per message of a reliable list queue.
 */
import { Redis } from "ioredis";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem } from "./queue-system.js";

/** Commands per pipeline, as PRODUCT.md's peer figure. */
const PIPELINE = 100;
const BLOCK_SECONDS = 0.2;
/** One worker: the pipeline is its concurrency. */
const WORKERS = 1;

export const pipelinedListQueue: QueueSystem = {
  async producer(target, queue): Promise<QueueProducer> {
    const redis = new Redis(target.redisUrl);
    return {
      async sendOne(message) {
        await redis.lpush(queue, JSON.stringify(message));
      },
      async sendBatch(messages) {
        const pipeline = redis.pipeline();
        for (const message of messages) pipeline.lpush(queue, JSON.stringify(message));
        await pipeline.exec();
      },
      async close() {
        redis.disconnect();
      },
    };
  },

  async consumer(target, queue, listener): Promise<QueueConsumer> {
    const processing = `${queue}:processing`;
    let running = true;
    const settle = async (redis: Redis, raws: string[]) => {
      for (const raw of raws) listener.received(JSON.parse(raw) as Payload);
      const pipeline = redis.pipeline();
      for (const raw of raws) pipeline.lrem(processing, 1, raw);
      await pipeline.exec();
      for (const _ of raws) listener.settled();
    };
    const work = async (redis: Redis) => {
      while (running) {
        const pipeline = redis.pipeline();
        for (let index = 0; index < PIPELINE; index += 1) pipeline.lmove(queue, processing, "RIGHT", "LEFT");
        const replies = (await pipeline.exec()) ?? [];
        const raws = replies.map(([, raw]) => raw).filter((raw): raw is string => typeof raw === "string");
        if (raws.length > 0) {
          await settle(redis, raws);
          continue;
        }
        const raw = await redis.blmove(queue, processing, "RIGHT", "LEFT", BLOCK_SECONDS);
        if (raw !== null) await settle(redis, [raw]);
      }
    };
    const connections = Array.from({ length: WORKERS }, () => new Redis(target.redisUrl));
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
