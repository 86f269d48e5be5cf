/**
 * One queue run of one system: a consumer process (on node B for Mailroom, or on both nodes) and a
 * producer process (on node A), over one queue or several, its messages in groups or not, against the
 * bench's Redis (or the Redis servers the spec names, e.g. a cluster's masters) or RabbitMQ; the clock
 * runs from the producer's start until the consumer has settled every message and the system holds none
 * unacked. Measures the rate, the latency the consumer saw (and, with groups, each group's order), Redis's
 * CPU and commands per message (of all its servers and of each), and each process's CPU (in cores).
 */
import { CpuMeter, type CpuReading, cpuMicrosecondsPer, findProcess } from "../infra/process-stats.js";
import type { RedisServer } from "../infra/redis-server.js";
import { RoleProcess } from "../infra/role-process.js";
import { monotonicMicroseconds } from "../measure/cpu-profile.js";
import { type ScriptCost, ScriptCostMeter } from "../measure/redis-scripts.js";
import { type RedisUsage, RedisUsageMeter } from "../measure/redis-usage.js";
import { perSecond } from "../result.js";
import type { QueueConsumerConfig, QueueConsumerResult } from "../roles/queue-consumer-role.js";
import type { QueueProducerConfig, QueueProducerResult } from "../roles/queue-producer-role.js";
import { now } from "../systems/payload.js";
import { isMailroomSystem, isStackFloor, type QueueSystemName, sendsOneAtATime } from "../systems/queue-systems.js";
import type { BenchContext } from "./bench-context.js";

/** RabbitMQ's Erlang VM, whose CPU is the broker's (read from /proc when it runs on this machine). */
const RABBITMQ_PROCESS = "beam.smp";

export interface QueueRunSpec {
  system: QueueSystemName;
  /** The queues: the producer sends to them in turn, the consumer consumes them all. */
  queues: string[];
  mode: QueueProducerConfig["mode"];
  messages: number;
  ratePerSecond: number;
  warmup: number;
  /** Called with the run's start and end on the monotonic clock, e.g. to cut a CPU profile. */
  onWindow?: (fromUs: number, toUs: number) => void;
  /**
   * Groups the producer deals its messages to in turn (the consumer checks each group's order).
   * @default 0, no groups
   */
  groups?: number;
  /**
   * Mailroom: where the consumer process consumes, one consumer of `prefetch` per node and queue.
   * @default "node B"
   */
  consumeOn?: "node B" | "both nodes";
  /** Mailroom on the memory engine: node A and node B are the same node, and Redis is not measured. */
  memoryEngine?: boolean;
  /** Also break Redis's time down by script (slow log at 0 µs: a little overhead on Redis). */
  scriptCosts?: boolean;
  /**
   * The Redis servers whose CPU and commands count, each with a label for the CPU figures (e.g. the masters
   * of a cluster the nodes use). @default the bench's own Redis, labelled `redis`
   */
  redisServers?: ReadonlyArray<{ label: string; server: RedisServer }>;
}

export interface QueueRunResult {
  elapsedMs: number;
  producer: QueueProducerResult;
  consumer: QueueConsumerResult;
  /** All the Redis servers together. */
  redis: RedisUsage | undefined;
  /** Each Redis server, in the order of the spec's `redisServers`. */
  redisEach: RedisUsage[] | undefined;
  scripts: ScriptCost[] | undefined;
  cpu: CpuReading;
  /** CPU µs of all the system's processes per message. */
  cpuUsPerMsg: number;
}

/** The figures every queue scenario reports of a run: rate, latency, Redis's and all processes' CPU. */
export function runFigures(run: QueueRunResult, messages: number) {
  return {
    msgsPerSec: perSecond(messages, run.elapsedMs),
    p50Ms: run.consumer.latency.p50Ms,
    p99Ms: run.consumer.latency.p99Ms,
    redisCpuUsPerMsg: run.redis?.cpuUsPerMsg ?? null,
    cpuUsPerMsg: run.cpuUsPerMsg,
  };
}

export async function runQueue(context: BenchContext, spec: QueueRunSpec): Promise<QueueRunResult> {
  const { sizes } = context;
  const usesRedis = spec.system !== "rabbitmq" && !spec.memoryEngine;
  const isMailroom = isMailroomSystem(spec.system);
  // Whose servers are node A and node B (and count as the system's): Mailroom's, or the floor's relays.
  const onNodes = isMailroom || isStackFloor(spec.system);
  const oneAtATime = sendsOneAtATime(spec.system);
  const base = { redisUrl: context.redis.url, amqpUrl: context.amqpUrl };
  const redisServers = spec.redisServers ?? [{ label: "redis", server: context.redis }];
  // Both start at once; the producer's warm-up message waits in the queue if the consumer is not there yet.
  // The stack's floor keeps no message: its consumer starts first.
  const consumerStarting = RoleProcess.start<QueueConsumerConfig, QueueConsumerResult>(
    "queue-consumer",
    {
      system: spec.system,
      targets: consumerTargets(context, spec).map((nodeUrl) => ({ ...base, nodeUrl })),
      queues: spec.queues,
      expected: spec.messages,
      inFlight: isMailroom || spec.system === "rabbitmq" ? sizes.prefetch : sizes.workerConcurrency,
      warmup: spec.warmup,
    },
    `${spec.system} consumer`,
  );
  if (isStackFloor(spec.system)) await consumerStarting.catch(() => {});
  const started = await Promise.allSettled([
    consumerStarting,
    RoleProcess.start<QueueProducerConfig, QueueProducerResult>(
      "queue-producer",
      {
        system: spec.system,
        target: { ...base, nodeUrl: context.nodeA.url },
        queues: spec.queues,
        mode: spec.mode,
        messages: spec.messages,
        batchSize: oneAtATime ? 1 : sizes.sendBatch,
        window: oneAtATime ? sizes.singleSendWindow : sizes.sendWindow,
        ratePerSecond: spec.ratePerSecond,
        groups: spec.groups ?? 0,
      },
      `${spec.system} producer`,
    ),
  ]);
  const [consumerStart, producerStart] = started;
  const consumer = consumerStart.status === "fulfilled" ? consumerStart.value : undefined;
  const producer = producerStart.status === "fulfilled" ? producerStart.value : undefined;
  if (!consumer || !producer) {
    await Promise.all([consumer?.close(), producer?.close()]);
    const failure = started.find((outcome) => outcome.status === "rejected");
    throw failure?.reason ?? new Error("a role process did not start");
  }
  try {
    const usage = usesRedis ? await RedisUsageMeter.begin(redisServers.map(({ server }) => server)) : undefined;
    const scriptCosts = spec.scriptCosts ? await ScriptCostMeter.begin(context.redis) : undefined;
    const cpu = new CpuMeter({
      ...Object.fromEntries(redisServers.map(({ label, server }) => [label, usesRedis ? server.pid : undefined])),
      "node A": onNodes ? context.nodeA.pid : undefined,
      "node B": onNodes && !spec.memoryEngine ? context.nodeB.pid : undefined,
      "RabbitMQ broker": spec.system === "rabbitmq" ? findProcess(RABBITMQ_PROCESS) : undefined,
      producer: producer.pid,
      consumer: consumer.pid,
    });
    const fromUs = monotonicMicroseconds();
    const startedAt = now();
    const consumed = consumer.run();
    const produced = await producer.run();
    const consumerResult = await consumed;
    const elapsedMs = now() - startedAt;
    spec.onWindow?.(fromUs, monotonicMicroseconds());
    const cpuReading = cpu.read();
    const redis = await usage?.end(spec.messages);
    const scripts = await scriptCosts?.end(spec.messages);
    return {
      elapsedMs,
      producer: produced,
      consumer: consumerResult,
      redis: redis?.total,
      redisEach: redis?.each,
      scripts,
      cpu: cpuReading,
      cpuUsPerMsg: cpuMicrosecondsPer(cpuReading, spec.messages),
    };
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
}

/** The node URLs the consumer process consumes through: node B's, or both nodes'. */
function consumerTargets(context: BenchContext, spec: QueueRunSpec): string[] {
  return spec.consumeOn === "both nodes" ? [context.nodeA.url, context.nodeB.url] : [context.nodeB.url];
}

/** "node A 0.95, node B 0.80, redis 0.40 cores": who was busy, busiest first. */
export function describeCpu(cores: Record<string, number>): string {
  return Object.entries(cores)
    .sort((a, b) => b[1] - a[1])
    .map(([name, value]) => `${name} ${value.toFixed(2)}`)
    .join(", ");
}
