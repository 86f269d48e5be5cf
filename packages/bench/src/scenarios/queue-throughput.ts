/**
 * Queue throughput at saturation: producer on node A (sendBatch of 100, 4 batches awaiting acceptance),
 * consumer on node B (prefetch 100, the SDK acks each message), 200-byte messages; the same shapes for
 * every peer (BullMQ addBulk and a Worker of concurrency 50; raw lists; RabbitMQ with confirms and
 * prefetch 100). Also Redis CPU per message (send + deliver + ack), the target's measure. And
 * `mailroom-memory`: one node on the embedded memory engine, producer and consumer both on it, with the
 * node's resident memory before and after (it should not keep what it delivered). And `mailroom-stock`:
 * the same nodes through the stock socket.io-client, without the SDK's batching (64 single sends in
 * flight, one delivery event and one ack per message). And `socketio-relay`: the floor of the stack
 * (systems/socketio-relay-queue.ts), the same stock client over raw Socket.IO servers that relay and keep
 * nothing.
 */
import { randomBytes } from "node:crypto";
import { residentBytes } from "../infra/process-stats.js";
import { ServerProcess } from "../infra/server-process.js";
import { type ScenarioResult, skipped } from "../result.js";
import type { QueueSystemName } from "../systems/queue-systems.js";
import { type BenchContext, runsSystem, type Scenario } from "./bench-context.js";
import { describeCpu, type QueueRunResult, runFigures, runQueue } from "./queue-run.js";
import { bestOfRounds, type RoundRunner } from "./rounds.js";
import { onServersOf } from "./stack-floor.js";

const MIB = 1_048_576;

export const QUEUE_SYSTEM_ORDER: QueueSystemName[] = [
  "mailroom",
  "mailroom-stock",
  "socketio-relay",
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
    const runners: RoundRunner[] = [];
    for (const system of QUEUE_SYSTEM_ORDER) {
      if (system === "rabbitmq" && !context.amqpUrl) continue;
      if (runsSystem(context, system))
        runners.push({ system, run: () => overRedisOrBroker(context, system, messages) });
      if (system === "mailroom" && runsSystem(context, "mailroom-memory"))
        runners.push({ system: "mailroom-memory", run: () => memoryEngine(context, messages) });
    }
    await bestOfRounds(context, runners);
    if (!context.amqpUrl) context.report(skipped(this.name, "rabbitmq", context.amqpMissing ?? "no RabbitMQ"));
  },
};

async function overRedisOrBroker(
  context: BenchContext,
  system: QueueSystemName,
  messages: number,
): Promise<ScenarioResult> {
  context.progress(`queue-throughput: ${system}, ${messages} messages`);
  const runOn = (on: BenchContext) =>
    runQueue(on, {
      system,
      queues: [`bench-tp-${system}-${context.runId}-${randomBytes(2).toString("hex")}`],
      mode: "burst",
      messages,
      ratePerSecond: 0,
      warmup: 0,
    });
  const run = await onServersOf(context, system, runOn);
  return throughputResult(system, messages, run);
}

async function memoryEngine(context: BenchContext, messages: number): Promise<ScenarioResult> {
  context.progress(`queue-throughput: mailroom-memory (one node, memory engine), ${messages} messages`);
  const node = await ServerProcess.mailroomNode({ label: "memory-engine node" });
  try {
    const pid = node.pid ?? 0;
    const before = residentBytes(pid) ?? 0;
    const run = await runQueue(
      { ...context, nodeA: node, nodeB: node },
      {
        system: "mailroom",
        queues: [`bench-tp-memory-${context.runId}`],
        mode: "burst",
        messages,
        ratePerSecond: 0,
        warmup: 0,
        memoryEngine: true,
      },
    );
    const after = residentBytes(pid) ?? 0;
    const result = throughputResult("mailroom-memory", messages, run);
    result.notes += `; node RSS ${(before / MIB).toFixed(0)} → ${(after / MIB).toFixed(0)} MiB`;
    return result;
  } finally {
    await node.kill();
  }
}

function throughputResult(system: string, messages: number, run: QueueRunResult): ScenarioResult {
  return {
    name: "queue-throughput",
    system,
    ...runFigures(run, messages),
    notes: [
      `${messages} msgs in ${(run.elapsedMs / 1000).toFixed(1)} s`,
      run.redis ? `${run.redis.commandsPerMsg} Redis cmds/msg` : "no Redis",
      `CPU cores: ${describeCpu(run.cpu.cores)}`,
    ].join("; "),
    details: { messages, received: run.consumer.received, redis: run.redis, cpuCores: run.cpu.cores },
  };
}
