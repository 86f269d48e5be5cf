/**
 * The queue engine on Redis (see queue-engine.ts for its guarantees). Every change is one Lua script on
 * the queue's slot, timed by Redis's clock. Sends and acks made in the same event-loop turn share one
 * script call. Cross-node delivery: a send that fills an empty queue publishes a wake-up on the queue's
 * channel; nodes with its consumers subscribe. Timed work (lease deadlines, delays) is marked in the
 * cluster's due-time index and swept by sweep-scheduler.ts. Queues are registered for the queue list in the
 * queue registry (queue-registrations.ts says when), which `listQueues` walks. With `--redis-wait-replicas`,
 * sends, acks and nacks are answered once replicas hold them (replica-wait.ts).
 */
import { randomBytes } from "node:crypto";
import { isDeadLetterQueue, MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import {
  type ConsumerCounts,
  type EngineStats,
  IGNORED_OUTCOMES,
  type Lease,
  type NewMessage,
  type QueueAddress,
  type QueueEngine,
  type QueueListing,
  type QueueOutcomes,
  type ReceiveResult,
} from "../queue-engine.js";
import { listRegisteredQueues } from "../queue-listing.js";
import { parseQueueRef, queueRef } from "../refs.js";
import type { RedisConnections } from "./connections.js";
import type { RedisKeys } from "./keys.js";
import { QueueRegistrations } from "./queue-registrations.js";
import type { RedisQueueRegistry } from "./redis-queue-registry.js";
import type { ReplicaWait } from "./replica-wait.js";
import type { QueueTarget, Scripts, SendItem } from "./scripts.js";
import { inStore } from "./store-errors.js";
import { SweepScheduler } from "./sweep-scheduler.js";
import { TickBatcher } from "./tick-batcher.js";

/** Largest number of messages or receipts coalesced into one script call. */
const MAX_COALESCED = 1000;
/**
 * Random bytes of the token that starts every receipt of one receive (unique per delivery). 128 bits; and
 * with a generated id the receipt (32 hex digits + index + ":" + id) is longer than Redis's default
 * zset-max-listpack-value (64), so the inflight set, keyed by receipt, is a skiplist: batched ZADD,
 * ZMSCORE and ZREM then cost O(log n) per receipt instead of a scan of a listpack.
 */
const RECEIPT_TOKEN_BYTES = 16;

export interface RedisQueueEngineOptions {
  connections: RedisConnections;
  scripts: Scripts;
  keys: RedisKeys;
  dedupWindowMs: number;
  logger: FastifyBaseLogger;
  /** The queue registry that `listQueues` walks and this engine registers queues in. */
  queueRegistry: RedisQueueRegistry;
  /** Told of messages dead-lettered or expired by this node's calls. @default nobody */
  outcomes?: QueueOutcomes;
  /** Holds the answers of sends, acks and nacks until replicas have them. */
  replicaWait: ReplicaWait;
  /** Whether layout 1's due index may still hold entries, to be swept too (layout.ts). */
  legacyDueIndex: () => boolean;
}

export class RedisQueueEngine implements QueueEngine {
  private readonly sends: TickBatcher<SendItem, boolean>;
  private readonly acks: TickBatcher<string, boolean>;
  /** Queues this node watches (it has consumers for them), by ref, with how many watchers each. */
  private readonly watched = new Map<string, number>();
  private readonly outcomes: QueueOutcomes;
  private readonly registrations: QueueRegistrations;
  private readonly scheduler: SweepScheduler;

  constructor(private readonly options: RedisQueueEngineOptions) {
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.registrations = new QueueRegistrations(options.queueRegistry, options.logger);
    this.sends = new TickBatcher((ref, items) => this.flushSends(ref, items), MAX_COALESCED);
    this.acks = new TickBatcher((ref, receipts) => this.flushAcks(ref, receipts), MAX_COALESCED);
    this.scheduler = new SweepScheduler({
      connections: options.connections,
      scripts: options.scripts,
      logger: options.logger,
      target,
      watched: this.watched,
      legacyDueIndex: options.legacyDueIndex,
      partitionOf: ({ namespace, queue }) => options.keys.duePartitionOfQueue(namespace, queue),
      swept: (address, { wasFilled, deadLettered }) => {
        if (wasFilled) this.wake(address);
        if (deadLettered) this.deadLettered(address, deadLettered);
      },
    });
  }

  async start(): Promise<void> {
    this.scheduler.start();
  }

  async close(): Promise<void> {
    this.scheduler.close();
    this.registrations.close();
  }

  send(address: QueueAddress, messages: NewMessage[]): Promise<boolean[]> {
    const ref = queueRef(address.namespace, address.queue);
    const registering = this.registrations.sent(address);
    if (!registering) return inStore(this.sends.add(ref, messages));
    return inStore(registering.then(() => this.sends.add(ref, messages)));
  }

  async receive(address: QueueAddress, max: number, visibilityMs: number, byteBudget = 0): Promise<ReceiveResult> {
    const { scripts } = this.options;
    const token = randomBytes(RECEIPT_TOKEN_BYTES).toString("hex");
    const reply = await inStore(scripts.queueReceive(target(address), max, visibilityMs, token, byteBudget));
    if (reply.expired > 0) this.outcomes.expired(address, reply.expired);
    const leases = reply.entries.map(({ id, receipt, entry }) => leaseOf(id, receipt, entry));
    // The leases' due mark goes out without holding the deliveries back; one that fails is retried.
    if (leases.length > 0) this.scheduler.markDueSoon(address, reply.deadline);
    return { leases, remaining: reply.remaining };
  }

  async ack(address: QueueAddress, receipts: string[]): Promise<{ acked: number; stale: string[] }> {
    const current = await inStore(this.acks.add(queueRef(address.namespace, address.queue), receipts));
    const stale = receipts.filter((_receipt, index) => !current[index]);
    return { acked: receipts.length - stale.length, stale };
  }

  async nack(
    address: QueueAddress,
    receipt: string,
    requeue: boolean,
    delayMs: number,
  ): Promise<{ deadLettered: boolean }> {
    const { current, deadLettered, wasEmpty, due } = await inStore(
      this.options.scripts.queueNack(target(address), receipt, requeue, delayMs),
    );
    if (!current) throw staleReceipt();
    await inStore(this.replicasHold(address));
    if (wasEmpty) this.wake(address);
    if (due) await this.scheduler.markDue(address, due);
    if (deadLettered) this.deadLettered(address, 1);
    return { deadLettered };
  }

  async extend(address: QueueAddress, receipt: string, visibilityMs: number): Promise<void> {
    const deadline = await inStore(this.options.scripts.queueExtend(target(address), receipt, visibilityMs));
    if (deadline === undefined) throw staleReceipt();
    // A shorter lease than before must be swept sooner than the index says.
    await this.scheduler.markDue(address, deadline);
  }

  async release(address: QueueAddress, receipts: string[]): Promise<void> {
    if (receipts.length === 0) return;
    const { wasEmpty, deadLettered } = await inStore(this.options.scripts.queueRelease(target(address), receipts));
    if (wasEmpty) this.wake(address);
    if (deadLettered) this.deadLettered(address, deadLettered);
  }

  stats(address: QueueAddress): Promise<EngineStats> {
    return inStore(this.options.scripts.queueStats(target(address)));
  }

  purge(address: QueueAddress): Promise<number> {
    return inStore(this.options.scripts.queuePurge(target(address)));
  }

  async redrive(address: QueueAddress): Promise<number> {
    const moved = await inStore(this.options.scripts.queueRedrive(target(address)));
    if (moved > 0) {
      this.registrations.touched(address);
      this.wake(address);
    }
    return moved;
  }

  listQueues(namespace: string, consumers: ConsumerCounts): Promise<QueueListing> {
    const stats = (address: QueueAddress) => this.stats(address);
    return listRegisteredQueues({ registry: this.options.queueRegistry, stats, consumers }, namespace);
  }

  watch(address: QueueAddress, listener: () => void): () => void {
    const channel = this.options.keys.wakeChannel(address.namespace, address.queue);
    const stopListening = this.options.connections.listen(channel, listener);
    const stopRegistering = this.registrations.watching(address);
    const ref = queueRef(address.namespace, address.queue);
    const watchers = (this.watched.get(ref) ?? 0) + 1;
    this.watched.set(ref, watchers);
    // The first watcher of a queue has its timed work looked at soon; later ones (every long-poll) need not.
    if (watchers === 1) this.scheduler.lookSoon(address);
    return () => {
      stopListening();
      stopRegistering();
      const count = (this.watched.get(ref) ?? 1) - 1;
      if (count > 0) this.watched.set(ref, count);
      else this.watched.delete(ref);
    };
  }

  private async flushSends(ref: string, items: SendItem[]): Promise<boolean[]> {
    const address = parseQueueRef(ref);
    const { earliestDue, duplicates } = await this.options.scripts.queueSend(
      target(address),
      this.options.dedupWindowMs,
      items,
    );
    // The script itself publishes the wake-up when the queue was empty.
    await this.replicasHold(address);
    if (earliestDue) await this.scheduler.markDue(address, earliestDue);
    return duplicates;
  }

  private async flushAcks(ref: string, receipts: string[]): Promise<boolean[]> {
    const address = parseQueueRef(ref);
    const { current } = await this.options.scripts.queueAck(target(address), receipts);
    await this.replicasHold(address);
    return current;
  }

  /** Waits until replicas hold this node's writes to the queue, when `--redis-wait-replicas` asks for it. */
  private replicasHold(address: QueueAddress): Promise<void> {
    const { replicaWait, keys } = this.options;
    if (!replicaWait.enabled) return Promise.resolve();
    const [queueKey = ""] = keys.queueScriptKeys(address.namespace, address.queue);
    return replicaWait.confirm(queueKey);
  }

  private wake(address: QueueAddress): void {
    const { connections, keys, logger } = this.options;
    connections.publish(keys.wakeChannel(address.namespace, address.queue), "1").catch((error: unknown) => {
      logger.debug({ err: error }, "a wake-up could not be published; consumers will poll");
    });
  }

  /** Counts dead-lettered messages and wakes the dead-letter queue's consumers. */
  private deadLettered(address: QueueAddress, count: number): void {
    this.outcomes.deadLettered(address, count);
    if (isDeadLetterQueue(address.queue)) return;
    const deadLetterQueue = { ...address, queue: `${address.queue}.dlq` };
    this.registrations.touched(deadLetterQueue);
    this.wake(deadLetterQueue);
  }
}

function target(address: QueueAddress): QueueTarget {
  return { ...address, isDeadLetterQueue: isDeadLetterQueue(address.queue) };
}

/** The "|" that ends each of a stored entry's six fields (queue-keys.lua: decodeMessage). */
const FIELD_END = 0x7c;

/**
 * A lease from a receive's id, receipt and the stored entry "seq|attempt|maxAttempts|enqueuedAt|expiresAt|
 * reason|body": the delivery is attempt + 1; the body is a view of the reply, not a copy.
 */
function leaseOf(id: string, receipt: string, entry: Buffer): Lease {
  const ends: number[] = [];
  for (let position = 0; ends.length < 6; position += 1) {
    const found = entry.indexOf(FIELD_END, position);
    if (found < 0) throw new MailroomError("INTERNAL", `stored message ${id} has a malformed entry`);
    ends.push(found);
    position = found;
  }
  const field = (number: number) =>
    entry.toString("latin1", number === 0 ? 0 : (ends[number - 1] as number) + 1, ends[number]);
  const lease: Lease = {
    id,
    receipt,
    attempt: Number(field(1)) + 1,
    enqueuedAt: Number(field(3)),
    body: entry.subarray((ends[5] as number) + 1),
  };
  const reason = field(5);
  if (reason === "rejected" || reason === "maxAttempts") lease.reason = reason;
  return lease;
}

function staleReceipt(): MailroomError {
  return new MailroomError("NOT_FOUND", "no current lease has this receipt (unknown, expired or already used)");
}
