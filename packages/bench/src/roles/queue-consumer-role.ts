/**
 * The consumer of a queue run: consumes with `inFlight` unacked messages at most, records each message's
 * latency (arrival at the handler minus its send time, from message `warmup` on), and is done once
 * `expected` messages are settled and the system holds none unacked. Messages sent before the run
 * (the producer's warm-up one) are settled and not counted.
 */
import { LatencyRecorder, type LatencySummary } from "../measure/latency-recorder.js";
import { now } from "../systems/payload.js";
import type { QueueTarget } from "../systems/queue-system.js";
import { loadQueueSystem, type QueueSystemName } from "../systems/queue-systems.js";
import type { Role } from "./role-protocol.js";

export interface QueueConsumerConfig {
  system: QueueSystemName;
  target: QueueTarget;
  queue: string;
  expected: number;
  inFlight: number;
  /** Messages whose seq is below this are not in the latency figures. */
  warmup: number;
}

export interface QueueConsumerResult {
  received: number;
  latency: LatencySummary;
}

export async function queueConsumerRole(config: QueueConsumerConfig): Promise<Role> {
  const latency = new LatencyRecorder(config.expected);
  let received = 0;
  let settled = 0;
  let pending: Array<() => void> = [];
  const system = await loadQueueSystem(config.system);
  const consumer = await system.consumer(
    config.target,
    config.queue,
    {
      received(message) {
        if (message.seq < 0) return;
        received += 1;
        if (message.seq >= config.warmup) latency.record(now() - message.sentAt);
      },
      settled() {
        settled += 1;
        // The warm-up message (seq -1) settles too: count it out once.
        if (settled >= config.expected + 1) for (const resolve of pending.splice(0)) resolve();
      },
    },
    { inFlight: config.inFlight },
  );
  return {
    async start() {
      if (settled < config.expected + 1) await new Promise<void>((resolve) => pending.push(resolve));
      await consumer.drained();
      return { received, latency: latency.summary() } satisfies QueueConsumerResult;
    },
    async close() {
      pending = [];
      await consumer.close();
    },
  };
}
