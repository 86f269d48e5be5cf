/**
 * The queue engine on Redis (see queue-engine.ts for its guarantees). Every change is one Lua script on
 * the queue's slot, timed by Redis's clock. Sends and acks made in the same event-loop turn share one
 * script call. Cross-node delivery: a send that fills an empty queue publishes a wake-up on the queue's
 * channel; nodes with its consumers subscribe. Timed work (lease deadlines, delays) lives in one due-time
 * index for the whole cluster, which every node polls with one script per tick whatever the number of
 * queues; each due queue is claimed by one node, swept, and settled.
 */
import { randomBytes } from "node:crypto";
import { isDeadLetterQueue, MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { RedisConnections } from "../redis/connections.js";
import { parseQueueRef, queueRef, type RedisKeys } from "../redis/keys.js";
import type { QueueTarget, Scripts, SendItem } from "../redis/scripts.js";
import { inStore } from "../redis/store-errors.js";
import {
  type EngineStats,
  IGNORED_OUTCOMES,
  type Lease,
  type NewMessage,
  type QueueAddress,
  type QueueEngine,
  type QueueOutcomes,
  type ReceiveResult,
} from "./queue-engine.js";
import { TickBatcher } from "./tick-batcher.js";

/** How often each node looks for due queues: the precision of lease expiry and delays. */
const SWEEP_INTERVAL_MS = 200;
/** Due queues one node claims per tick. */
const SWEEP_QUEUES_PER_TICK = 50;
/** Leases and delayed messages one sweep script handles; more waits for the next call. */
const SWEEP_BATCH = 500;
/** A claimed queue is pushed this far ahead, so a sweeper that dies leaves it to another node. */
const SWEEP_CLAIM_MS = 5000;
/** How often the queues this node consumes are swept whatever the due index says (a safety net). */
const RECHECK_WATCHED_MS = 30_000;
/** Largest number of messages or receipts coalesced into one script call. */
const MAX_COALESCED = 1000;
/**
 * Random bytes of the token that starts every receipt of one receive (unique per delivery). 128 bits; and
 * with a generated id the receipt (32 hex digits + index + ":" + id) is longer than Redis's default
 * zset-max-listpack-value (64), so the inflight set, keyed by receipt, is a skiplist: batched ZADD,
 * ZMSCORE and ZREM then cost O(log n) per receipt instead of a scan of a listpack.
 */
const RECEIPT_TOKEN_BYTES = 16;
/** Keys Redis looks at per SCAN call of a queue listing: short calls that never stall other clients. */
const SCAN_COUNT = 1000;

export interface RedisQueueEngineOptions {
  connections: RedisConnections;
  scripts: Scripts;
  keys: RedisKeys;
  dedupWindowMs: number;
  logger: FastifyBaseLogger;
  /** Told of messages dead-lettered or expired by this node's calls. @default nobody */
  outcomes?: QueueOutcomes;
}

export class RedisQueueEngine implements QueueEngine {
  private readonly sends: TickBatcher<SendItem, boolean>;
  private readonly acks: TickBatcher<string, boolean>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Queues this node watches (it has consumers for them), by ref, with how many watchers each. */
  private readonly watched = new Map<string, number>();
  private readonly outcomes: QueueOutcomes;
  /** Due marks that could not be written yet, by queue ref: the earliest due time of each. */
  private readonly unmarked = new Map<string, number>();

  constructor(private readonly options: RedisQueueEngineOptions) {
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.sends = new TickBatcher((ref, items) => this.flushSends(ref, items), MAX_COALESCED);
    this.acks = new TickBatcher((ref, receipts) => this.flushAcks(ref, receipts), MAX_COALESCED);
  }

  async start(): Promise<void> {
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.recheckTimer = setInterval(() => this.recheckWatched(), RECHECK_WATCHED_MS);
    this.recheckTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.recheckTimer);
  }

  send(address: QueueAddress, messages: NewMessage[]): Promise<boolean[]> {
    return inStore(this.sends.add(queueRef(address.namespace, address.queue), messages));
  }

  async receive(address: QueueAddress, max: number, visibilityMs: number): Promise<ReceiveResult> {
    const { scripts } = this.options;
    const token = randomBytes(RECEIPT_TOKEN_BYTES).toString("hex");
    const reply = await inStore(scripts.queueReceive(target(address), max, visibilityMs, token));
    const deadline = Number(reply[0]);
    const remaining = Number(reply[1]);
    const expired = Number(reply[2]);
    if (expired > 0) this.outcomes.expired(address, expired);
    const leases: Lease[] = [];
    for (let index = 3; index < reply.length; index += 3) {
      leases.push(leaseOf(String(reply[index]), String(reply[index + 1]), reply[index + 2] as Buffer));
    }
    // The leases' due mark goes out without holding the deliveries back; one that fails is retried.
    if (leases.length > 0) this.markDueOrRetry(address, deadline);
    return { leases, remaining };
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
    const [current, deadLettered, wasEmpty, due] = await inStore(
      this.options.scripts.queueNack(target(address), receipt, requeue, delayMs),
    );
    if (current !== 1) throw staleReceipt();
    if (wasEmpty === 1) this.wake(address);
    if (due) await this.markDue(address, due);
    if (deadLettered === 1) this.deadLettered(address, 1);
    return { deadLettered: deadLettered === 1 };
  }

  async extend(address: QueueAddress, receipt: string, visibilityMs: number): Promise<void> {
    const deadline = await inStore(this.options.scripts.queueExtend(target(address), receipt, visibilityMs));
    if (!deadline) throw staleReceipt();
    // A shorter lease than before must be swept sooner than the index says.
    await this.markDue(address, deadline);
  }

  async release(address: QueueAddress, receipts: string[]): Promise<void> {
    if (receipts.length === 0) return;
    const [, wasEmpty, deadLettered] = await inStore(this.options.scripts.queueRelease(target(address), receipts));
    if (wasEmpty === 1) this.wake(address);
    if (deadLettered) this.deadLettered(address, deadLettered);
  }

  async stats(address: QueueAddress): Promise<EngineStats> {
    const [ready, inflight, delayed, deadLettered, expired, discarded] = await inStore(
      this.options.scripts.queueStats(target(address)),
    );
    return {
      ready: Number(ready),
      inflight: Number(inflight),
      delayed: Number(delayed),
      deadLettered: Number(deadLettered),
      expired: Number(expired),
      discarded: Number(discarded),
    };
  }

  purge(address: QueueAddress): Promise<number> {
    return inStore(this.options.scripts.queuePurge(target(address)));
  }

  async redrive(address: QueueAddress): Promise<number> {
    const moved = await inStore(this.options.scripts.queueRedrive(target(address)));
    if (moved > 0) this.wake(address);
    return moved;
  }

  /** Scans the keyspace for the namespace's `messages` hashes: an admin listing, linear in the number of keys. */
  async listQueues(namespace: string): Promise<string[]> {
    const { connections, keys } = this.options;
    const pattern = keys.queueMessagesPattern(namespace);
    const names = new Set<string>();
    let cursor = "0";
    do {
      const [next, found] = await inStore(connections.command.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT));
      cursor = next;
      for (const key of found) {
        const queue = keys.queueOfMessagesKey(namespace, key);
        if (queue !== undefined) names.add(queue);
      }
    } while (cursor !== "0");
    return [...names].sort();
  }

  watch(address: QueueAddress, listener: () => void): () => void {
    const channel = this.options.keys.wakeChannel(address.namespace, address.queue);
    const stopListening = this.options.connections.listen(channel, listener);
    const ref = queueRef(address.namespace, address.queue);
    const watchers = (this.watched.get(ref) ?? 0) + 1;
    this.watched.set(ref, watchers);
    // The first watcher of a queue looks at its timed work at once; later ones (every long-poll) need not.
    if (watchers === 1) this.sweepSoon(ref);
    return () => {
      stopListening();
      const count = (this.watched.get(ref) ?? 1) - 1;
      if (count > 0) this.watched.set(ref, count);
      else this.watched.delete(ref);
    };
  }

  /**
   * Marks a queue due now, so a sweep looks at it at once. The safety net for timed work whose mark was
   * lost (Redis failing between a script and the mark that follows it, in another slot): every queue
   * with consumers is looked at when they come, and again every RECHECK_WATCHED_MS.
   */
  private sweepSoon(ref: string): void {
    this.options.scripts.markDueQueue(ref, 0).catch((error: unknown) => {
      this.options.logger.debug({ err: error }, "could not mark a queue for a sweep; the next recheck will");
    });
  }

  private recheckWatched(): void {
    if (this.options.connections.command.status !== "ready") return;
    for (const ref of this.watched.keys()) this.sweepSoon(ref);
  }

  private async flushSends(ref: string, items: SendItem[]): Promise<boolean[]> {
    const address = parseQueueRef(ref);
    const reply = await this.options.scripts.queueSend(target(address), this.options.dedupWindowMs, items);
    // The script itself publishes the wake-up when the queue was empty (reply[0]).
    const [, earliestDue] = reply;
    if (earliestDue) await this.markDue(address, earliestDue);
    return reply.slice(2).map((flag) => flag === 1);
  }

  private async flushAcks(ref: string, receipts: string[]): Promise<boolean[]> {
    const reply = await this.options.scripts.queueAck(target(parseQueueRef(ref)), receipts);
    const current = receipts.map(() => true);
    for (const position of reply.slice(1)) current[position - 1] = false;
    return current;
  }

  private wake(address: QueueAddress): void {
    const { connections, keys, logger } = this.options;
    connections.command.publish(keys.wakeChannel(address.namespace, address.queue), "1").catch((error: unknown) => {
      logger.debug({ err: error }, "a wake-up could not be published; consumers will poll");
    });
  }

  /** Counts dead-lettered messages and wakes the dead-letter queue's consumers. */
  private deadLettered(address: QueueAddress, count: number): void {
    this.outcomes.deadLettered(address, count);
    if (!isDeadLetterQueue(address.queue)) this.wake({ ...address, queue: `${address.queue}.dlq` });
  }

  /** Writes a due mark in the background (markDue keeps one that fails for a retry). */
  private markDueOrRetry(address: QueueAddress, due: number): void {
    this.markDue(address, due).catch(() => {});
  }

  private keepUnmarked(ref: string, due: number): void {
    const earlier = this.unmarked.get(ref);
    if (earlier === undefined || due < earlier) this.unmarked.set(ref, due);
  }

  /** Writes the due marks that failed before; those that fail again stay for the next tick. */
  private async retryUnmarked(): Promise<void> {
    const pending = [...this.unmarked];
    this.unmarked.clear();
    await Promise.all(
      pending.map(([ref, due]) => this.options.scripts.markDueQueue(ref, due).catch(() => this.keepUnmarked(ref, due))),
    );
  }

  /**
   * Writes a queue's due mark. One that fails (Redis away) is kept and written again at each sweep tick
   * until it lands, so leases and delays on any queue, watched or not, end in time.
   */
  private async markDue(address: QueueAddress, due: number): Promise<number> {
    const ref = queueRef(address.namespace, address.queue);
    try {
      return await inStore(this.options.scripts.markDueQueue(ref, due));
    } catch (error) {
      this.keepUnmarked(ref, due);
      throw error;
    }
  }

  /** One tick of timed work: claim the due queues, sweep each, record when each is next due. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.options.connections.command.status !== "ready") return;
    this.sweeping = true;
    const { scripts, logger } = this.options;
    try {
      if (this.unmarked.size > 0) await this.retryUnmarked();
      const claimed = await scripts.claimDueQueues(SWEEP_QUEUES_PER_TICK, SWEEP_CLAIM_MS);
      for (let index = 0; index < claimed.length; index += 2) {
        const ref = claimed[index] as string;
        const generation = claimed[index + 1] as string;
        const address = parseQueueRef(ref);
        const [wasFilled, nextDue, more, deadLettered] = await scripts.queueSweep(target(address), SWEEP_BATCH);
        if (wasFilled === 1) this.wake(address);
        if (deadLettered) this.deadLettered(address, deadLettered);
        await scripts.settleDueQueue(ref, generation, more === 1 ? 1 : (nextDue ?? 0));
      }
    } catch (error) {
      logger.debug({ err: error }, "queue sweep failed; retrying at the next tick");
    } finally {
      this.sweeping = false;
    }
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
