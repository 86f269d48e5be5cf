/**
 * Queue latency at a steady rate (2,000 msg/s): an open-loop producer on node A sends one message at a
 * time on schedule, each carrying its due time; the consumer on node B records arrival minus due time.
 * p50/p99 leave out the first warm-up seconds. The same for every peer, and for Mailroom through the SDK
 * and through the stock socket.io-client, and for the stack's floor (socketio-relay: raw Socket.IO
 * servers that relay each message and keep none).
 */
import { perSecond, type ScenarioResult, skipped } from "../result.js";
import { type BenchContext, runsSystem, type Scenario } from "./bench-context.js";
import { describeCpu, runQueue } from "./queue-run.js";
import { QUEUE_SYSTEM_ORDER } from "./queue-throughput.js";
import { onServersOf } from "./stack-floor.js";

/** Below this share of the rate, a system fell behind and its latency is a backlog's, not a path's. */
const KEPT_UP = 0.95;

export const queueLatency: Scenario = {
  name: "queue-latency",
  about: "producer→consumer latency across nodes at a steady rate (open loop)",
  async run(context: BenchContext) {
    const { latencyRate, latencySeconds, latencyWarmupSeconds } = context.sizes;
    const messages = Math.round(latencyRate * latencySeconds);
    for (const system of QUEUE_SYSTEM_ORDER) {
      if (!runsSystem(context, system)) continue;
      if (system === "rabbitmq" && !context.amqpUrl) {
        context.report(skipped(this.name, system, context.amqpMissing ?? "no RabbitMQ"));
        continue;
      }
      context.progress(`${this.name}: ${system}, ${latencyRate} msg/s for ${latencySeconds} s`);
      const runOn = (on: BenchContext) =>
        runQueue(on, {
          system,
          queues: [`bench-lat-${system}-${context.runId}`],
          mode: "steady",
          messages,
          ratePerSecond: latencyRate,
          warmup: Math.round(latencyRate * latencyWarmupSeconds),
        });
      const run = await onServersOf(context, system, runOn);
      const delivered = perSecond(messages, run.elapsedMs);
      const result: ScenarioResult = {
        name: this.name,
        system,
        msgsPerSec: delivered,
        p50Ms: run.consumer.latency.p50Ms,
        p99Ms: run.consumer.latency.p99Ms,
        redisCpuUsPerMsg: run.redis?.cpuUsPerMsg ?? null,
        cpuUsPerMsg: run.cpuUsPerMsg,
        notes: [
          ...(delivered < latencyRate * KEPT_UP ? [`did not keep up: ${delivered} of ${latencyRate} msg/s`] : []),
          `open loop ${latencyRate} msg/s for ${latencySeconds} s (first ${latencyWarmupSeconds} s not counted)`,
          `max ${run.consumer.latency.maxMs} ms; sender lag max ${run.producer.maxLagMs} ms`,
          `CPU cores: ${describeCpu(run.cpu.cores)}`,
        ].join("; "),
        details: { messages, latency: run.consumer.latency, redis: run.redis, cpuCores: run.cpu.cores },
      };
      context.report(result);
    }
  },
};
