/**
 * The queue engine in this process's memory (see queue-engine.ts for its guarantees): what a node runs
 * when no Redis is configured. It follows the Redis engine (lua/queue-*.lua) step for step, with this
 * process's clock in place of Redis's; one conformance suite holds both to the same behaviour
 * (test/conformance/queue-engine-suite.ts). Where the contract leaves room they differ in two things: a
 * lease here is stale from its deadline on, where Redis keeps it current until its sweep ends it, at most
 * a sweep interval later (docs/protocol.md: "A lease is current until the store ends it"); and an id the
 * server chose is a duplicate here while the queue holds it, where Redis never compares such ids (they are
 * unique by construction).
 * What it is not: shared between nodes, or durable: "accepted" means held by this process, and a restart
 * loses every message.
 * Invariants: a queue's `messages` holds each message it has, and each id is in exactly one of `ready`,
 * `delayed` or `leases`; a queue with no messages and nothing left to deduplicate is deleted; all timed
 * work (lease deadlines, delays, the end of dedup windows) runs from one heap behind one timer, whose
 * entries go stale instead of being removed and are skipped (or compacted away) later. Queues are
 * registered for the queue list as on Redis (sent to, watched, dead-lettered or redriven into), in a
 * registry of its own (memory-queue-registry.ts) that `listQueues` walks.
 */
import { type DeadLetterReason, deadLetterQueueOf, isDeadLetterQueue, MailroomError } from "@mailroom/protocol";
import { FairLanes, type Placement } from "../../structures/fair-lanes.js";
import { randomHex } from "../../structures/random-hex.js";
import { RingDeque } from "../../structures/ring-deque.js";
import { TimedHeap } from "../../structures/timed-heap.js";
import {
  type ConsumerCounts,
  type EngineStats,
  IGNORED_OUTCOMES,
  type Lease,
  type NewMessage,
  type PeekedMessage,
  type PeekState,
  type QueueAddress,
  type QueueEngine,
  type QueueListing,
  type QueueOutcomes,
  type ReceiveResult,
} from "../queue-engine.js";
import { listRegisteredQueues } from "../queue-listing.js";
import { queueRef, queueRefOf } from "../refs.js";
import { MemoryQueueRegistry } from "./memory-queue-registry.js";

/** Timed items handled per timer tick, so a burst of deadlines never stalls the event loop; the rest follow. */
const MAX_TIMED_ITEMS_PER_TICK = 10_000;
/** Below this many stale heap entries, skipping them when they come due costs less than a rebuild. */
const MIN_STALE_ENTRIES_TO_COMPACT = 1024;
/** The longest delay `setTimeout` accepts; a later due time is reached by re-arming on the way. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;
/** Random bytes per receive in a receipt's token (64 bits): receipts are unique and unguessable. */
const RECEIPT_TOKEN_BYTES = 8;

export interface MemoryQueueEngineOptions {
  /** How long a producer's id stays deduplicated after its first acceptance (ms). */
  dedupWindowMs: number;
  /** The clock of leases, delays, TTLs and dedup windows (ms since the epoch). @default Date.now */
  now?: () => number;
  /** Told of messages dead-lettered or expired. @default nobody */
  outcomes?: QueueOutcomes;
}

interface StoredMessage {
  /** Acceptance order: messages requeued together return to the head sorted by it. */
  sequence: number;
  /** Deliveries so far in this queue: 0 until the first. */
  attempt: number;
  maxAttempts: number;
  enqueuedAt: number;
  /** When its TTL ends (ms); 0 = never. */
  expiresAt: number;
  /** Why it is in a dead-letter queue; undefined elsewhere. */
  reason: DeadLetterReason | undefined;
  group: string | undefined;
  priority: number;
  /** Delayed by a nack: its group stays out until it is back at the group's head. */
  holdsGroup: boolean;
  body: Buffer;
}

interface HeldLease {
  receipt: string;
  deadline: number;
  /** The generation of its entry in the timed heap. */
  generation: number;
}

interface DelayedMessage {
  due: number;
  generation: number;
}

interface DedupRecord {
  id: string;
  acceptedAt: number;
}

interface QueueState {
  readonly address: QueueAddress;
  readonly key: string;
  readonly ready: FairLanes<string>;
  /** Group -> how many of its messages the queue holds (ready, leased or delayed). */
  readonly groupSizes: Map<string, number>;
  readonly messages: Map<string, StoredMessage>;
  readonly leases: Map<string, HeldLease>;
  readonly delayed: Map<string, DelayedMessage>;
  /** Producer id -> its first acceptance (ms). */
  readonly dedup: Map<string, number>;
  /** The same records in acceptance order, so the oldest are forgotten first. */
  readonly dedupOrder: RingDeque<DedupRecord>;
  /** The generation of the scheduled pruning of `dedup`, while one is scheduled. */
  dedupGeneration: number | undefined;
}

interface QueueCounters {
  expired: number;
  discarded: number;
  sent: number;
  acked: number;
}

type TimedKind = "lease" | "delay" | "dedup";

/** Work due at `due`; it is live while the record it names still carries its `generation`. */
interface TimedEntry {
  due: number;
  generation: number;
  kind: TimedKind;
  queueKey: string;
  /** The message id; empty for dedup pruning, which concerns the whole queue. */
  id: string;
}

export class MemoryQueueEngine implements QueueEngine {
  private readonly dedupWindowMs: number;
  private readonly now: () => number;
  private readonly outcomes: QueueOutcomes;
  private readonly queues = new Map<string, QueueState>();
  private readonly registry: MemoryQueueRegistry;
  /** Kept apart from the queues, so totals outlive a queue that empties (as Redis's counters key does). */
  private readonly counters = new Map<string, QueueCounters>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly pendingWakeups = new Set<string>();
  private readonly timed = new TimedHeap<TimedEntry>();
  private staleTimedEntries = 0;
  /**
   * One acceptance counter for the whole engine. Redis keeps one per queue family; only the order within
   * a family is ever compared, and a single counter gives the same order with nothing to clean up.
   */
  private lastSequence = 0;
  private lastGeneration = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(options: MemoryQueueEngineOptions) {
    if (!Number.isFinite(options.dedupWindowMs) || options.dedupWindowMs < 0) {
      throw new Error(`dedupWindowMs must be a number of milliseconds ≥ 0, got ${options.dedupWindowMs}`);
    }
    this.dedupWindowMs = options.dedupWindowMs;
    this.now = options.now ?? Date.now;
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.registry = new MemoryQueueRegistry(this.now);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timed.clear();
    this.staleTimedEntries = 0;
    this.queues.clear();
    this.registry.clear();
    this.counters.clear();
    this.watchers.clear();
    this.pendingWakeups.clear();
  }

  async send(address: QueueAddress, messages: NewMessage[]): Promise<boolean[]> {
    this.assertOpen();
    const now = this.now();
    this.registry.record(address, true);
    const queue = this.queueFor(address);
    this.forgetExpiredDedup(queue, now, Number.POSITIVE_INFINITY);
    if (queue.dedupOrder.length === 0 && queue.dedupGeneration !== undefined) {
      queue.dedupGeneration = undefined;
      this.invalidateTimedEntry();
    }
    const duplicates: boolean[] = [];
    let madeReady = false;
    for (const message of messages) {
      const duplicate =
        queue.messages.has(message.id) || (message.chosenByProducer && this.inDedupWindow(queue, message.id, now));
      duplicates.push(duplicate);
      if (duplicate) continue;
      queue.messages.set(message.id, {
        sequence: ++this.lastSequence,
        attempt: 0,
        maxAttempts: message.maxAttempts,
        enqueuedAt: now,
        expiresAt: message.ttlMs > 0 ? now + message.ttlMs : 0,
        reason: undefined,
        group: message.group,
        priority: message.priority ?? 0,
        holdsGroup: false,
        body: message.body,
      });
      const { group } = placementIn(queue, messageOf(queue, message.id));
      if (group !== undefined) countInGroup(queue, group, 1);
      this.count(queue.key, "sent");
      if (message.chosenByProducer) {
        queue.dedup.set(message.id, now);
        queue.dedupOrder.pushBack({ id: message.id, acceptedAt: now });
      }
      if (message.delayMs > 0) {
        this.delay(queue, message.id, now + message.delayMs);
      } else {
        queue.ready.add(message.id, placementIn(queue, messageOf(queue, message.id)));
        madeReady = true;
      }
    }
    this.scheduleDedupPruning(queue);
    if (madeReady) this.wake(queue.key);
    this.dropIfEmpty(queue);
    return duplicates;
  }

  /** Pops up to `max` ids; expired messages among them are discarded and counted, so fewer may lease. */
  async receive(address: QueueAddress, max: number, visibilityMs: number, byteBudget = 0): Promise<ReceiveResult> {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    if (!queue || queue.ready.length === 0) return { leases: [], remaining: 0 };
    const now = this.now();
    const deadline = now + visibilityMs;
    const token = randomHex(RECEIPT_TOKEN_BYTES);
    const leases: Lease[] = [];
    let bytes = 0;
    let exhausted = false;
    for (let position = 1; position <= max; position++) {
      if (byteBudget > 0 && bytes >= byteBudget) break;
      const taken = queue.ready.take();
      if (taken === undefined) {
        // What stays ready waits for groups out: nothing more to take now.
        exhausted = true;
        break;
      }
      const { id } = taken;
      const message = messageOf(queue, id);
      if (message.expiresAt > 0 && message.expiresAt <= now) {
        this.forget(queue, id, message, true);
        this.count(queue.key, "expired");
        this.outcomes.expired(queue.address, 1);
        continue;
      }
      message.attempt += 1;
      const receipt = `${token}${position.toString(16)}:${id}`;
      queue.leases.set(id, { receipt, deadline, generation: this.schedule(deadline, "lease", queue.key, id) });
      leases.push(toLease(id, receipt, message));
      bytes += message.body.length;
    }
    const remaining = exhausted ? 0 : queue.ready.length;
    this.dropIfEmpty(queue);
    return { leases, remaining };
  }

  async ack(address: QueueAddress, receipts: string[]): Promise<{ acked: number; stale: string[] }> {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    if (!queue) return { acked: 0, stale: [...receipts] };
    const now = this.now();
    const stale: string[] = [];
    let acked = 0;
    for (const receipt of receipts) {
      const current = findCurrentLease(queue, receipt, now);
      if (!current) {
        stale.push(receipt);
        continue;
      }
      queue.leases.delete(current.id);
      this.forget(queue, current.id, messageOf(queue, current.id), true);
      this.invalidateTimedEntry();
      this.count(queue.key, "acked");
      acked += 1;
    }
    this.dropIfEmpty(queue);
    return { acked, stale };
  }

  async nack(
    address: QueueAddress,
    receipt: string,
    requeue: boolean,
    delayMs: number,
  ): Promise<{ deadLettered: boolean }> {
    this.assertOpen();
    const now = this.now();
    const current = findCurrentLease(this.queues.get(queueRefOf(address)), receipt, now);
    if (!current) throw staleReceipt();
    const { queue, id } = current;
    const message = this.endLease(queue, id);
    let deadLettered = false;
    if (!requeue) deadLettered = this.deadLetter(queue, id, message, "rejected");
    else if (message.attempt >= message.maxAttempts) deadLettered = this.deadLetter(queue, id, message, "maxAttempts");
    else if (delayMs > 0) {
      // Its group stays out until it is back at the group's head (runDueWork).
      message.holdsGroup = message.group !== undefined && !isDeadLetterQueue(queue.address.queue);
      this.delay(queue, id, now + delayMs);
    } else this.requeueAtHead(queue, [id]);
    this.dropIfEmpty(queue);
    return { deadLettered };
  }

  async extend(address: QueueAddress, receipt: string, visibilityMs: number): Promise<void> {
    this.assertOpen();
    const now = this.now();
    const current = findCurrentLease(this.queues.get(queueRefOf(address)), receipt, now);
    if (!current) throw staleReceipt();
    const { queue, id, lease } = current;
    lease.deadline = now + visibilityMs;
    lease.generation = this.schedule(lease.deadline, "lease", queue.key, id);
    this.invalidateTimedEntry();
  }

  async giveBack(address: QueueAddress, _visibilityMs: number, receipts: string[]): Promise<void> {
    this.endLeasesNow(address, receipts, (message) => {
      // No consumer saw it: the delivery counted when it was leased is not one.
      message.attempt -= 1;
      return "requeue";
    });
  }

  /** This engine pushes nothing: no credit stands. */
  async withdraw(_address: QueueAddress, _visibilityMs: number): Promise<void> {}

  async release(address: QueueAddress, receipts: string[]): Promise<void> {
    this.endLeasesNow(address, receipts, (message) =>
      message.attempt >= message.maxAttempts ? "deadLetter" : "requeue",
    );
  }

  async stats(address: QueueAddress): Promise<EngineStats> {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    const deadLetterQueue = this.queues.get(queueRef(address.namespace, deadLetterQueueOf(address.queue)));
    const counters = this.counters.get(queueRefOf(address));
    return {
      ready: queue?.ready.length ?? 0,
      inflight: queue?.leases.size ?? 0,
      delayed: queue?.delayed.size ?? 0,
      deadLettered: deadLetterQueue?.messages.size ?? 0,
      groups: queue?.groupSizes.size ?? 0,
      expired: counters?.expired ?? 0,
      discarded: counters?.discarded ?? 0,
      sent: counters?.sent ?? 0,
      acked: counters?.acked ?? 0,
    };
  }

  async peek(address: QueueAddress, state: PeekState, limit: number): Promise<PeekedMessage[]> {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    if (!queue) return [];
    const ranked: Array<[id: string, rank: number]> = [];
    for (const [id, message] of queue.messages) {
      const lease = queue.leases.get(id);
      const delay = queue.delayed.get(id);
      if (state === "inflight" && lease) ranked.push([id, lease.deadline]);
      else if (state === "delayed" && delay) ranked.push([id, delay.due]);
      else if (state === "ready" && !lease && !delay) ranked.push([id, message.sequence]);
    }
    ranked.sort((first, second) => first[1] - second[1]);
    return ranked.slice(0, limit).map(([id]) => {
      const message = messageOf(queue, id);
      const { receipt: _receipt, seq: _seq, ...peeked } = toLease(id, "", message);
      // Deliveries so far: for one in flight, the current one counts (as its lease's attempt).
      return { ...peeked, attempt: message.attempt };
    });
  }

  async purge(address: QueueAddress): Promise<number> {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    if (!queue) return 0;
    let purged = 0;
    for (const id of queue.ready.drain()) {
      this.forget(queue, id, messageOf(queue, id), false);
      purged += 1;
    }
    for (const id of queue.delayed.keys()) {
      queue.delayed.delete(id);
      const message = messageOf(queue, id);
      this.forget(queue, id, message, message.holdsGroup);
      this.invalidateTimedEntry();
      purged += 1;
    }
    this.dropIfEmpty(queue);
    return purged;
  }

  /**
   * Moves the ready messages of `<queue>.dlq`, then its delayed ones by due time, to the tail. A message
   * whose id the queue already holds stays in the dead-letter queue, to be redriven once that one is gone.
   */
  async redrive(address: QueueAddress): Promise<number> {
    this.assertOpen();
    const source = this.queues.get(queueRef(address.namespace, deadLetterQueueOf(address.queue)));
    if (!source) return 0;
    const target = this.queueFor(address);
    const fromReady = source.ready.drain();
    const fromDelayed = [...source.delayed.entries()]
      .sort(([, first], [, second]) => first.due - second.due || first.generation - second.generation)
      .map(([id]) => id);
    let moved = 0;
    for (const id of fromReady) {
      if (target.messages.has(id)) {
        source.ready.add(id, placementIn(source, messageOf(source, id)));
        continue;
      }
      this.moveToTail(source, target, id);
      moved += 1;
    }
    for (const id of fromDelayed) {
      if (target.messages.has(id)) continue;
      source.delayed.delete(id);
      this.invalidateTimedEntry();
      this.moveToTail(source, target, id);
      moved += 1;
    }
    if (moved > 0) {
      this.registry.record(address, false);
      this.wake(target.key);
    }
    this.dropIfEmpty(source);
    this.dropIfEmpty(target);
    return moved;
  }

  queueNamespaces(): Promise<string[]> {
    return this.registry.namespaces();
  }

  async listQueues(namespace: string, consumers: ConsumerCounts): Promise<QueueListing> {
    this.assertOpen();
    const stats = (address: QueueAddress) => this.stats(address);
    return listRegisteredQueues({ registry: this.registry, stats, consumers }, namespace);
  }

  watch(address: QueueAddress, listener: () => void): () => void {
    if (this.closed) return () => {};
    this.registry.record(address, false);
    const key = queueRefOf(address);
    let listeners = this.watchers.get(key);
    if (!listeners) {
      listeners = new Set();
      this.watchers.set(key, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.watchers.get(key);
      if (current?.delete(listener) && current.size === 0) this.watchers.delete(key);
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new MailroomError("UNAVAILABLE", "the queue engine is closed (the node is stopping)");
  }

  private queueFor(address: QueueAddress): QueueState {
    const key = queueRefOf(address);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = {
        address: { namespace: address.namespace, queue: address.queue },
        key,
        ready: new FairLanes(),
        groupSizes: new Map(),
        messages: new Map(),
        leases: new Map(),
        delayed: new Map(),
        dedup: new Map(),
        dedupOrder: new RingDeque(),
        dedupGeneration: undefined,
      };
      this.queues.set(key, queue);
    }
    return queue;
  }

  /** Deletes a queue that holds nothing, so memory returns to where it started. */
  private dropIfEmpty(queue: QueueState): void {
    if (queue.messages.size > 0 || queue.dedupOrder.length > 0 || queue.dedupGeneration !== undefined) return;
    if (this.queues.get(queue.key) === queue) this.queues.delete(queue.key);
  }

  private count(queueKey: string, counter: keyof QueueCounters): void {
    let counters = this.counters.get(queueKey);
    if (!counters) {
      counters = { expired: 0, discarded: 0, sent: 0, acked: 0 };
      this.counters.set(queueKey, counters);
    }
    counters[counter] += 1;
  }

  /** As Redis: a producer's id is a duplicate up to and including `dedupWindowMs` after its acceptance. */
  private inDedupWindow(queue: QueueState, id: string, now: number): boolean {
    const acceptedAt = queue.dedup.get(id);
    return acceptedAt !== undefined && acceptedAt >= now - this.dedupWindowMs;
  }

  /** Forgets up to `limit` ids whose dedup window has ended, oldest first; returns how many. */
  private forgetExpiredDedup(queue: QueueState, now: number, limit: number): number {
    const cutoff = now - this.dedupWindowMs;
    let forgotten = 0;
    for (let oldest = queue.dedupOrder.peekFront(); oldest && oldest.acceptedAt < cutoff && forgotten < limit; ) {
      queue.dedupOrder.popFront();
      if (queue.dedup.get(oldest.id) === oldest.acceptedAt) queue.dedup.delete(oldest.id);
      forgotten += 1;
      oldest = queue.dedupOrder.peekFront();
    }
    return forgotten;
  }

  private scheduleDedupPruning(queue: QueueState): void {
    const oldest = queue.dedupOrder.peekFront();
    if (!oldest || queue.dedupGeneration !== undefined) return;
    queue.dedupGeneration = this.schedule(oldest.acceptedAt + this.dedupWindowMs + 1, "dedup", queue.key, "");
  }

  private delay(queue: QueueState, id: string, due: number): void {
    queue.delayed.set(id, { due, generation: this.schedule(due, "delay", queue.key, id) });
  }

  /**
   * Ends the current leases among `receipts` now: `fate` says of each message whether it goes back to the
   * head (together, in acceptance order) or to the dead-letter queue. Stale receipts are ignored.
   */
  private endLeasesNow(
    address: QueueAddress,
    receipts: string[],
    fate: (message: StoredMessage) => "requeue" | "deadLetter",
  ): void {
    this.assertOpen();
    const queue = this.queues.get(queueRefOf(address));
    if (!queue) return;
    const now = this.now();
    const requeued: string[] = [];
    for (const receipt of receipts) {
      const current = findCurrentLease(queue, receipt, now);
      if (!current) continue;
      const message = this.endLease(queue, current.id);
      if (fate(message) === "deadLetter") this.deadLetter(queue, current.id, message, "maxAttempts");
      else requeued.push(current.id);
    }
    this.requeueAtHead(queue, requeued);
    this.dropIfEmpty(queue);
  }

  /** Removes a current lease; returns its message, still held by the queue. */
  private endLease(queue: QueueState, id: string): StoredMessage {
    queue.leases.delete(id);
    this.invalidateTimedEntry();
    return messageOf(queue, id);
  }

  /** Puts messages back at the head of the ready list, in their acceptance order among themselves. */
  private requeueAtHead(queue: QueueState, ids: string[]): void {
    if (ids.length === 0) return;
    const newestFirst = [...ids].sort(
      (first, second) => messageOf(queue, second).sequence - messageOf(queue, first).sequence,
    );
    for (const id of newestFirst) {
      const message = messageOf(queue, id);
      const placement = placementIn(queue, message);
      queue.ready.add(id, placement, true);
      if (placement.group !== undefined) queue.ready.release(placement.group);
    }
    this.wake(queue.key);
  }

  /**
   * Moves a message to `<queue>.dlq` (attempt from 1 there, no TTL), or discards and counts it when this
   * queue is itself a dead-letter queue or its dead-letter queue holds the same id. Returns whether it moved.
   */
  private deadLetter(queue: QueueState, id: string, message: StoredMessage, reason: DeadLetterReason): boolean {
    // Dead-lettering ends a delivery: the message was its group's one out.
    this.forget(queue, id, message, true);
    const deadLetterAddress = { namespace: queue.address.namespace, queue: deadLetterQueueOf(queue.address.queue) };
    if (isDeadLetterQueue(queue.address.queue) || this.queues.get(queueRefOf(deadLetterAddress))?.messages.has(id)) {
      this.count(queue.key, "discarded");
      return false;
    }
    const deadLetterQueue = this.queueFor(deadLetterAddress);
    message.attempt = 0;
    message.reason = reason;
    message.expiresAt = 0;
    message.holdsGroup = false;
    deadLetterQueue.messages.set(id, message);
    deadLetterQueue.ready.add(id, placementIn(deadLetterQueue, message));
    this.registry.record(deadLetterAddress, false);
    this.wake(deadLetterQueue.key);
    this.outcomes.deadLettered(queue.address, 1);
    return true;
  }

  /** Moves a ready or delayed message (already out of those) from a dead-letter queue to the tail of `target`. */
  private moveToTail(source: QueueState, target: QueueState, id: string): void {
    const message = messageOf(source, id);
    source.messages.delete(id);
    message.sequence = ++this.lastSequence;
    message.attempt = 0;
    message.reason = undefined;
    target.messages.set(id, message);
    const placement = placementIn(target, message);
    if (placement.group !== undefined) countInGroup(target, placement.group, 1);
    target.ready.add(id, placement);
  }

  /**
   * Takes a message out of the queue for good (acked, expired, dead-lettered, purged); `heldGroup`: it was
   * its group's one message out (leased, taken, or delayed by a nack), so the group's next may go.
   */
  private forget(queue: QueueState, id: string, message: StoredMessage, heldGroup: boolean): void {
    queue.messages.delete(id);
    const { group } = placementIn(queue, message);
    if (group === undefined) return;
    countInGroup(queue, group, -1);
    if (heldGroup && queue.ready.release(group)) this.wake(queue.key);
  }

  /** Tells the queue's watchers once per turn of the event loop, however many changes it saw. */
  private wake(queueKey: string): void {
    if (!this.watchers.has(queueKey) || this.pendingWakeups.has(queueKey)) return;
    this.pendingWakeups.add(queueKey);
    queueMicrotask(() => {
      this.pendingWakeups.delete(queueKey);
      const listeners = this.watchers.get(queueKey);
      if (listeners) for (const listener of [...listeners]) listener();
    });
  }

  /** Adds timed work; returns its generation, which the record it concerns keeps while it is live. */
  private schedule(due: number, kind: TimedKind, queueKey: string, id: string): number {
    const generation = ++this.lastGeneration;
    this.timed.push({ due, generation, kind, queueKey, id });
    this.armTimer();
    return generation;
  }

  /** Arms the one timer for the earliest due entry, unless it is armed for that time or sooner. */
  private armTimer(): void {
    const next = this.timed.peek();
    if (!next) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer !== undefined && this.timerDue <= next.due) return;
    clearTimeout(this.timer);
    this.timerDue = next.due;
    const delayMs = Math.min(Math.max(0, next.due - this.now()), MAX_TIMER_DELAY_MS);
    this.timer = setTimeout(() => this.runDueWork(), delayMs);
    this.timer.unref();
  }

  /** Records that one heap entry went stale; rebuilds the heap when most of it is stale. */
  private invalidateTimedEntry(): void {
    this.staleTimedEntries += 1;
    if (this.staleTimedEntries < MIN_STALE_ENTRIES_TO_COMPACT || this.staleTimedEntries * 2 < this.timed.size) return;
    this.timed.retain((entry) => this.isLive(entry));
    this.staleTimedEntries = 0;
  }

  private isLive(entry: TimedEntry): boolean {
    const queue = this.queues.get(entry.queueKey);
    if (!queue) return false;
    switch (entry.kind) {
      case "lease":
        return queue.leases.get(entry.id)?.generation === entry.generation;
      case "delay":
        return queue.delayed.get(entry.id)?.generation === entry.generation;
      case "dedup":
        return queue.dedupGeneration === entry.generation;
    }
  }

  /**
   * One tick of timed work, at most MAX_TIMED_ITEMS_PER_TICK items: leases past their deadline end
   * (requeued together at the head, or dead-lettered after the last attempt), due delays join the tail,
   * ended dedup windows are forgotten.
   */
  private runDueWork(): void {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = this.now();
    const requeued = new Map<QueueState, string[]>();
    const filled = new Set<QueueState>();
    const touched = new Set<QueueState>();
    let budget = MAX_TIMED_ITEMS_PER_TICK;
    for (let entry = this.timed.peek(); entry && entry.due <= now && budget > 0; entry = this.timed.peek()) {
      this.timed.pop();
      budget -= 1;
      const queue = this.queues.get(entry.queueKey);
      if (!queue || !this.isLive(entry)) {
        this.staleTimedEntries -= 1;
        continue;
      }
      touched.add(queue);
      if (entry.kind === "lease") {
        queue.leases.delete(entry.id);
        const message = messageOf(queue, entry.id);
        if (message.attempt >= message.maxAttempts) this.deadLetter(queue, entry.id, message, "maxAttempts");
        else appendTo(requeued, queue, entry.id);
      } else if (entry.kind === "delay") {
        queue.delayed.delete(entry.id);
        const message = messageOf(queue, entry.id);
        const placement = placementIn(queue, message);
        if (message.holdsGroup && placement.group !== undefined) {
          // A delayed requeue: back at the head of its group, which it held out meanwhile.
          message.holdsGroup = false;
          queue.ready.add(entry.id, placement, true);
          queue.ready.release(placement.group);
        } else queue.ready.add(entry.id, placement);
        filled.add(queue);
      } else {
        queue.dedupGeneration = undefined;
        budget -= this.forgetExpiredDedup(queue, now, budget);
        this.scheduleDedupPruning(queue);
      }
    }
    for (const [queue, ids] of requeued) this.requeueAtHead(queue, ids);
    for (const queue of filled) this.wake(queue.key);
    for (const queue of touched) this.dropIfEmpty(queue);
    this.armTimer();
  }
}

interface CurrentLease {
  queue: QueueState;
  id: string;
  lease: HeldLease;
}

/**
 * The lease a receipt "<hex token>:<id>" names, when it is its message's current one and its deadline has
 * not passed; undefined otherwise (unknown, malformed, expired or already used).
 */
function findCurrentLease(queue: QueueState | undefined, receipt: string, now: number): CurrentLease | undefined {
  if (!queue) return undefined;
  const id = receipt.slice(receipt.indexOf(":") + 1);
  const lease = queue.leases.get(id);
  return lease && lease.receipt === receipt && lease.deadline > now ? { queue, id, lease } : undefined;
}

/** The message a queue holds under `id`; every id in its ready list, delays or leases has one. */
function messageOf(queue: QueueState, id: string): StoredMessage {
  const message = queue.messages.get(id);
  if (!message) throw new Error(`queue ${queue.key} lost message ${id}: an invariant of the memory engine broke`);
  return message;
}

function toLease(id: string, receipt: string, message: StoredMessage): Lease {
  const lease: Lease = {
    id,
    receipt,
    attempt: message.attempt,
    enqueuedAt: message.enqueuedAt,
    seq: message.sequence,
    body: message.body,
  };
  if (message.reason) lease.reason = message.reason;
  if (message.group !== undefined) lease.group = message.group;
  if (message.group !== undefined || message.priority > 0) lease.priority = message.priority;
  return lease;
}

/** Where a message waits in this queue: by group and priority, but in plain order in a `.dlq` queue. */
function placementIn(queue: QueueState, message: StoredMessage): Placement {
  if (isDeadLetterQueue(queue.address.queue)) return { priority: 0 };
  return { group: message.group, priority: message.priority };
}

function countInGroup(queue: QueueState, group: string, change: number): void {
  const size = (queue.groupSizes.get(group) ?? 0) + change;
  if (size > 0) queue.groupSizes.set(group, size);
  else queue.groupSizes.delete(group);
}

function appendTo(lists: Map<QueueState, string[]>, queue: QueueState, id: string): void {
  const list = lists.get(queue);
  if (list) list.push(id);
  else lists.set(queue, [id]);
}

function staleReceipt(): MailroomError {
  return new MailroomError("NOT_FOUND", "no current lease has this receipt (unknown, expired or already used)");
}
