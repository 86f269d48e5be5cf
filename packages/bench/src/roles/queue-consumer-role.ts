/**
 * The consumer of a queue run: consumes every queue of `queues` through each of `targets` (for Mailroom,
 * one consumer per node and queue) with `inFlight` unacked messages at most in each, records each
 * message's latency (arrival at the handler minus its send time, from message `warmup` on), and is done
 * once `expected` messages (all queues together) are settled and the system holds none unacked. Messages
 * sent before the run (the producer's warm-up one in each queue) are settled and not counted. Grouped
 * messages (a `group` in the payload) also go through the group order check (measure/group-order.ts):
 * the consumers of all targets share this process, so one check sees every delivery.
 */
import { GroupOrderChecker, type GroupOrderSummary } from "../measure/group-order.js";
import { LatencyRecorder, type LatencySummary } from "../measure/latency-recorder.js";
import { now } from "../systems/payload.js";
import type { ConsumerListener, QueueTarget } from "../systems/queue-system.js";
import { loadQueueSystem, type QueueSystemName } from "../systems/queue-systems.js";
import type { Role } from "./role-protocol.js";

export interface QueueConsumerConfig {
  system: QueueSystemName;
  /** Where it consumes: one consumer per target and queue (e.g. a Mailroom node each). */
  targets: QueueTarget[];
  queues: string[];
  expected: number;
  inFlight: number;
  /** Messages whose seq is below this are not in the latency figures. */
  warmup: number;
}

export interface QueueConsumerResult {
  received: number;
  latency: LatencySummary;
  /** The group order check; all zeros in a run without groups. */
  groupOrder: GroupOrderSummary;
}

export async function queueConsumerRole(config: QueueConsumerConfig): Promise<Role> {
  const latency = new LatencyRecorder(config.expected);
  const groupOrder = new GroupOrderChecker();
  let received = 0;
  let settled = 0;
  let pending: Array<() => void> = [];
  // The warm-up messages (seq -1, one per queue) settle too: count them out.
  const toSettle = config.expected + config.queues.length;
  const system = await loadQueueSystem(config.system);
  const listener: ConsumerListener = {
    received(message, delivery) {
      if (message.seq < 0) return;
      received += 1;
      if (message.seq >= config.warmup) latency.record(now() - message.sentAt);
      groupOrder.record(message, delivery);
    },
    settled() {
      settled += 1;
      if (settled >= toSettle) for (const resolve of pending.splice(0)) resolve();
    },
  };
  const consumers = await Promise.all(
    config.targets.flatMap((target) =>
      config.queues.map((queue) => system.consumer(target, queue, listener, { inFlight: config.inFlight })),
    ),
  );
  return {
    async start() {
      if (settled < toSettle) await new Promise<void>((resolve) => pending.push(resolve));
      await Promise.all(consumers.map((consumer) => consumer.drained()));
      return { received, latency: latency.summary(), groupOrder: groupOrder.summary() } satisfies QueueConsumerResult;
    },
    async close() {
      pending = [];
      await Promise.all(consumers.map((consumer) => consumer.close()));
    },
  };
}
