/**
 * The producer of a queue run, over one queue or several (`queues`, taken in turn: batch i in `burst`,
 * message i in `steady`, goes to queue i mod their number). `burst` sends `messages` as fast as the
 * system accepts them, in batches of `batchSize` with `window` batches awaiting acceptance at once.
 * `steady` is an open-loop sender:
 * message i is due at start + i / rate and is sent then (or at once, if late) without waiting for the
 * previous ones to be accepted, carrying its due time, so a slow system cannot slow the sender down and
 * hide its own latency. With `groups`, message i goes to group `g-<i mod groups>` (its payload says so),
 * and a send waits for the acceptance of the previous send of its groups (group-send-order.ts), so each
 * group's send order is its messages' seq order.
 */
import { groupOf, now, type Payload, payload } from "../systems/payload.js";
import type { QueueProducer, QueueTarget } from "../systems/queue-system.js";
import { loadQueueSystem, type QueueSystemName } from "../systems/queue-systems.js";
import { GroupSendOrder } from "./group-send-order.js";
import type { Role } from "./role-protocol.js";

export interface QueueProducerConfig {
  system: QueueSystemName;
  target: QueueTarget;
  /** The queues it sends to, in turn. */
  queues: string[];
  mode: "burst" | "steady";
  messages: number;
  batchSize: number;
  window: number;
  ratePerSecond: number;
  /** Groups the messages are dealt to in turn; 0 sends them without a group. */
  groups: number;
}

export interface QueueProducerResult {
  sent: number;
  elapsedMs: number;
  /** steady: how far behind its schedule the sender fell at worst, in ms. */
  maxLagMs: number;
}

/** The sender's tick: timers fire no more often than about once a millisecond anyway. */
const TICK_MS = 1;
/** The group of the warm-up messages, in a run with groups: apart from the groups the run checks. */
const WARMUP_GROUP = "warm-up";

export async function queueProducerRole(config: QueueProducerConfig): Promise<Role> {
  const system = await loadQueueSystem(config.system);
  const producers = await Promise.all(config.queues.map((queue) => system.producer(config.target, queue)));
  if (producers.length === 0) throw new Error("a producer needs at least one queue");
  // One message to each queue first, so connections, scripts and the queues exist before the clock starts.
  const warmup = payload(-1, now(), config.groups > 0 ? WARMUP_GROUP : undefined);
  await Promise.all(producers.map((producer) => producer.sendOne(warmup)));
  return {
    start: () => (config.mode === "burst" ? burst(producers, config) : steady(producers, config)),
    close: async () => {
      await Promise.all(producers.map((producer) => producer.close()));
    },
  };
}

/** The producer whose turn the `index`-th batch or message is. */
function inTurn(producers: QueueProducer[], index: number): QueueProducer {
  return producers[index % producers.length] as QueueProducer;
}

async function burst(producers: QueueProducer[], config: QueueProducerConfig): Promise<QueueProducerResult> {
  const order = new GroupSendOrder();
  const startedAt = now();
  let next = 0;
  let batches = 0;
  const lane = async () => {
    while (next < config.messages) {
      const producer = inTurn(producers, batches++);
      const batch: Payload[] = [];
      while (batch.length < config.batchSize && next < config.messages) {
        batch.push(payload(next, now(), groupOf(next, config.groups)));
        next += 1;
      }
      await order.send(batch, () => producer.sendBatch(batch));
    }
  };
  await Promise.all(Array.from({ length: config.window }, lane));
  return { sent: next, elapsedMs: now() - startedAt, maxLagMs: 0 };
}

async function steady(producers: QueueProducer[], config: QueueProducerConfig): Promise<QueueProducerResult> {
  const intervalMs = 1000 / config.ratePerSecond;
  const order = new GroupSendOrder();
  const startedAt = now();
  const accepted: Promise<void>[] = [];
  let maxLagMs = 0;
  let next = 0;
  while (next < config.messages) {
    const current = now();
    while (next < config.messages && startedAt + next * intervalMs <= current) {
      const dueAt = startedAt + next * intervalMs;
      maxLagMs = Math.max(maxLagMs, current - dueAt);
      const message = payload(next, dueAt, groupOf(next, config.groups));
      const producer = inTurn(producers, next);
      accepted.push(order.send([message], () => producer.sendOne(message)));
      next += 1;
    }
    if (next < config.messages) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.all(accepted);
  return { sent: next, elapsedMs: now() - startedAt, maxLagMs: Math.round(maxLagMs * 100) / 100 };
}
