/**
 * The queue engine on Redis (see queue-engine.ts for its guarantees). Every change is one Lua script on
 * the queue's slot, timed by Redis's clock. Sends and acks made in the same event-loop turn share one
 * script call. Cross-node delivery: a send that fills an empty queue publishes a wake-up on the queue's
 * channel; nodes with its consumers subscribe. Timed work (lease deadlines, delays) lives in one due-time
 * index for the whole cluster, which every node polls with one script per tick whatever the number of
 * queues; each due queue is claimed by one node, swept, and settled. The index holds only real deadlines
 * and takes turns across namespaces (claim-due-queues.lua), so no tenant's queues delay another's timed
 * work (PROTOCOL.md §15); claimed queues are swept concurrently, and a tick claims again while it finds
 * a full claim. Queues are registered for the queue list in the queue registry (queue-registrations.ts
 * says when), which `listQueues` walks.
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
import type { QueueTarget, Scripts, SendItem } from "./scripts.js";
import { inStore } from "./store-errors.js";
import { TickBatcher } from "./tick-batcher.js";

/** How often each node looks for due queues: the precision of lease expiry and delays. */
const SWEEP_INTERVAL_MS = 200;
/** Due queues one claim takes (shared across the namespaces that have due work). */
const SWEEP_QUEUES_PER_CLAIM = 50;
/** Claims one tick makes at most while each comes back full: bounds a node's sweeping at 5,000 queues/s. */
const SWEEP_CLAIMS_PER_TICK = 20;
/** Leases and delayed messages one sweep script handles; more waits for the next call. */
const SWEEP_BATCH = 500;
/** A claimed queue is pushed this far ahead, so a sweeper that dies leaves it to another node. */
const SWEEP_CLAIM_MS = 5000;
/** How often the queues this node consumes are looked at whatever the due index says (a safety net). */
const RECHECK_WATCHED_MS = 30_000;
/**
 * Queues looked at per tick, outside the index (a first consumer's queue, the recheck): paced, so a
 * client that opens thousands of consumers costs Redis at most 250 looks a second.
 */
const LOOKS_PER_TICK = 50;
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
}

export class RedisQueueEngine implements QueueEngine {
  private readonly sends: TickBatcher<SendItem, boolean>;
  private readonly acks: TickBatcher<string, boolean>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Queues to look at outside the index, by ref, in the order they were asked for. */
  private readonly pendingLooks = new Set<string>();
  /** When the next recheck of every watched queue may begin (performance.now() ms). */
  private nextRecheckAt = 0;
  /** Queues this node watches (it has consumers for them), by ref, with how many watchers each. */
  private readonly watched = new Map<string, number>();
  private readonly outcomes: QueueOutcomes;
  /** Due marks that could not be written yet, by queue ref: the earliest due time of each. */
  private readonly unmarked = new Map<string, number>();
  private readonly registrations: QueueRegistrations;

  constructor(private readonly options: RedisQueueEngineOptions) {
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.registrations = new QueueRegistrations(options.queueRegistry, options.logger);
    this.sends = new TickBatcher((ref, items) => this.flushSends(ref, items), MAX_COALESCED);
    this.acks = new TickBatcher((ref, receipts) => this.flushAcks(ref, receipts), MAX_COALESCED);
  }

  async start(): Promise<void> {
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.nextRecheckAt = performance.now() + RECHECK_WATCHED_MS;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
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
    if (watchers === 1) this.pendingLooks.add(ref);
    return () => {
      stopListening();
      stopRegistering();
      const count = (this.watched.get(ref) ?? 1) - 1;
      if (count > 0) this.watched.set(ref, count);
      else this.watched.delete(ref);
    };
  }

  /**
   * Sweeps one queue outside the index and marks its next real deadline. The safety net for timed work
   * whose mark was lost (a node that died between a script and the mark that follows it, in another
   * slot): a queue is looked at when its first consumer on this node comes, and every RECHECK_WATCHED_MS
   * while it has consumers here. It never marks a queue due "now" just to look at it, which would let
   * one namespace's thousands of consumers crowd out every other's deadlines.
   */
  private async look(ref: string): Promise<void> {
    const address = parseQueueRef(ref);
    const [wasFilled, nextDue, , deadLettered] = await this.options.scripts.queueSweep(target(address), SWEEP_BATCH);
    if (wasFilled === 1) this.wake(address);
    if (deadLettered) this.deadLettered(address, deadLettered);
    if (nextDue) await this.markDue(address, nextDue);
  }

  /** Looks at up to LOOKS_PER_TICK queues: first consumers' queues, then a paced recheck of every watched one. */
  private async lookAtSome(): Promise<void> {
    if (this.pendingLooks.size === 0 && performance.now() >= this.nextRecheckAt) {
      for (const ref of this.watched.keys()) this.pendingLooks.add(ref);
      this.nextRecheckAt = performance.now() + RECHECK_WATCHED_MS;
    }
    const refs: string[] = [];
    for (const ref of this.pendingLooks) {
      if (refs.length >= LOOKS_PER_TICK) break;
      refs.push(ref);
    }
    for (const ref of refs) this.pendingLooks.delete(ref);
    await Promise.all(
      refs
        .filter((ref) => this.watched.has(ref))
        .map((ref) =>
          this.look(ref).catch((error: unknown) => {
            this.options.logger.debug({ err: error }, "could not look at a queue's timed work; the recheck will");
          }),
        ),
    );
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
    if (isDeadLetterQueue(address.queue)) return;
    const deadLetterQueue = { ...address, queue: `${address.queue}.dlq` };
    this.registrations.touched(deadLetterQueue);
    this.wake(deadLetterQueue);
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

  /**
   * One tick of timed work: claim the due queues (a share per namespace), sweep them concurrently, record
   * when each is next due; claim again while claims come back full. Then look at a few queues outside
   * the index.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.options.connections.command.status !== "ready") return;
    this.sweeping = true;
    const { scripts, logger } = this.options;
    try {
      if (this.unmarked.size > 0) await this.retryUnmarked();
      for (let claims = 0; claims < SWEEP_CLAIMS_PER_TICK; claims += 1) {
        const claimed = await scripts.claimDueQueues(SWEEP_QUEUES_PER_CLAIM, SWEEP_CLAIM_MS);
        const sweeps: Promise<void>[] = [];
        for (let index = 0; index < claimed.length; index += 2) {
          sweeps.push(this.sweepClaimed(claimed[index] as string, claimed[index + 1] as string));
        }
        await Promise.all(sweeps);
        if (sweeps.length < SWEEP_QUEUES_PER_CLAIM) break;
      }
      await this.lookAtSome();
    } catch (error) {
      logger.debug({ err: error }, "queue sweep failed; retrying at the next tick");
    } finally {
      this.sweeping = false;
    }
  }

  /** Sweeps a claimed queue and settles its claim; one that fails is left to the claim's expiry. */
  private async sweepClaimed(ref: string, generation: string): Promise<void> {
    const { scripts, logger } = this.options;
    const address = parseQueueRef(ref);
    try {
      const [wasFilled, nextDue, more, deadLettered] = await scripts.queueSweep(target(address), SWEEP_BATCH);
      if (wasFilled === 1) this.wake(address);
      if (deadLettered) this.deadLettered(address, deadLettered);
      await scripts.settleDueQueue(ref, generation, more === 1 ? 1 : (nextDue ?? 0));
    } catch (error) {
      logger.debug(
        { err: error, queue: address.queue },
        "sweeping a queue failed; its claim runs out and it is swept again",
      );
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
