/**
 * BullMQ as its guide shows it: a `Queue` that adds jobs (`add`, `addBulk`), a `Worker` with concurrency
 * 50 whose processor resolving completes the job. Completed jobs are removed (`removeOnComplete`), as a
 * long-running queue must; a job counts as settled when the worker emits `completed`, i.e. after BullMQ
 * moved it out of the active list in Redis.
 */
import { Queue, Worker } from "bullmq";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem, QueueTarget } from "./queue-system.js";

const JOB_NAME = "bench";

function connection(target: QueueTarget) {
  const url = new URL(target.redisUrl);
  return { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
}

export const bullmqQueue: QueueSystem = {
  async producer(target, queueName): Promise<QueueProducer> {
    const queue = new Queue<Payload>(queueName, {
      connection: connection(target),
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    await queue.waitUntilReady();
    return {
      async sendOne(message) {
        await queue.add(JOB_NAME, message);
      },
      async sendBatch(messages) {
        await queue.addBulk(messages.map((data) => ({ name: JOB_NAME, data })));
      },
      async close() {
        await queue.close();
      },
    };
  },

  async consumer(target, queueName, listener, { inFlight }): Promise<QueueConsumer> {
    const worker = new Worker<Payload>(
      queueName,
      async (job) => {
        listener.received(job.data);
      },
      { connection: connection(target), concurrency: inFlight },
    );
    worker.on("completed", () => listener.settled());
    await worker.waitUntilReady();
    return {
      async drained() {},
      async close() {
        await worker.close(true);
      },
    };
  },
};
