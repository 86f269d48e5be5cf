/**
 * Queue throughput at saturation: producer on node A (sendBatch of 100, 4 batches awaiting acceptance),
 * consumer on node B (prefetch 100, the SDK acks each message), 200-byte messages; the same shapes for
 * every peer (BullMQ addBulk and a Worker of concurrency 50; raw lists; RabbitMQ with confirms and
 * prefetch 100). Also Redis CPU per message (send + deliver + ack), the target's measure.
 */
import { perSecond, type ScenarioResult, skipped } from "../result.js";
import type { QueueSystemName } from "../systems/queue-systems.js";
import type { BenchContext, Scenario } from "./bench-context.js";
import { describeCpu, runQueue } from "./queue-run.js";

export const QUEUE_SYSTEM_ORDER: QueueSystemName[] = [
  "mailroom",
  "bullmq",
  "redis-list",
  "redis-list-pipelined",
  "rabbitmq",
];

export const queueThroughput: Scenario = {
  name: "queue-throughput",
  about: "messages/s from a producer on node A to a consumer on node B, acked, at saturation",
  async run(context: BenchContext) {
    const messages = context.sizes.throughputMessages;
    for (const system of QUEUE_SYSTEM_ORDER) {
      if (system === "rabbitmq" && !context.amqpUrl) {
        context.report(skipped(this.name, system, context.amqpMissing ?? "no RabbitMQ"));
        continue;
      }
      context.progress(`${this.name}: ${system}, ${messages} messages`);
      const run = await runQueue(context, {
        system,
        queue: `bench-tp-${system}-${context.runId}`,
        mode: "burst",
        messages,
        ratePerSecond: 0,
        warmup: 0,
      });
      const result: ScenarioResult = {
        name: this.name,
        system,
        msgsPerSec: perSecond(messages, run.elapsedMs),
        p50Ms: run.consumer.latency.p50Ms,
        p99Ms: run.consumer.latency.p99Ms,
        redisCpuUsPerMsg: run.redis?.cpuUsPerMsg ?? null,
        notes: [
          `${messages} msgs in ${(run.elapsedMs / 1000).toFixed(1)} s`,
          run.redis ? `${run.redis.commandsPerMsg} Redis cmds/msg` : "no Redis",
          `CPU cores: ${describeCpu(run.cpuCores)}`,
        ].join("; "),
        details: { messages, received: run.consumer.received, redis: run.redis, cpuCores: run.cpuCores },
      };
      context.report(result);
    }
  },
};
