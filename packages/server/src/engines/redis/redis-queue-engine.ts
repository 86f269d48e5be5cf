/**
 * The queue engine on Redis (see queue-engine.ts for its guarantees). Every change is one Lua script on
 * the queue's slot, timed by Redis's clock. Sends and acks made in the same event-loop turn share one
 * script call. Cross-node delivery: a send that fills an empty queue publishes a wake-up on the queue's
 * channel; nodes with its consumers subscribe. A send to an empty queue whose consumers stand waiting
 * (their node's last pull emptied it) leases the messages to their node in the same script and publishes
 * them on the node's own channel of the queue: push delivery (queue-engine.ts), one hop and one script
 * fewer per message than wake-up and pull. Timed work (lease deadlines, delays) is marked in the
 * cluster's due-time index and swept by sweep-scheduler.ts. Queues are registered for the queue list in the
 * queue registry (queue-registrations.ts says when), which `listQueues` walks. With `--redis-wait-replicas`,
 * sends, acks and nacks are answered once replicas hold them (replica-wait.ts).
 */
import { isDeadLetterQueue, MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import { randomHex } from "../../structures/random-hex.js";
import {
  type ConsumerCounts,
  type EngineStats,
  IGNORED_OUTCOMES,
  type NewMessage,
  type PeekedMessage,
  type PeekState,
  type PushedLeases,
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
import { leaseOf, pushedLeases } from "./stored-leases.js";
import { SweepScheduler } from "./sweep-scheduler.js";
import { TickBatcher } from "./tick-batcher.js";

/** Largest number of messages or receipts coalesced into one script call. */
const MAX_COALESCED = 1000;
/**
 * How long an ack that may wait (QueueEngine.ack) waits at most for others to share its script: at
 * everyday rates a stock client acks each message alone, and one script per ack cost Redis a fifth of what
 * a message costs it (BENCHMARKS.md, "Acks that wait 2 ms for company").
 */
const ACK_LINGER_MS = 2;
/**
 * Random bytes of the token that starts every receipt of one receive (unique per delivery). 128 bits; and
 * with a generated id the receipt (32 hex digits + ":" + id) is longer than Redis's default
 * zset-max-listpack-value (64), so the inflight set, keyed by receipt, is a skiplist: batched ZADD,
 * ZMSCORE and ZREM then cost O(log n) per receipt instead of a scan of a listpack.
 */
const RECEIPT_TOKEN_BYTES = 16;
/**
 * How long a standing credit lasts unless a receive renews it: an idle consumer's safety pull renews it
 * (consumer-dispatcher.ts), and one that lapsed only means its consumers pull again.
 */
const STANDING_LIFE_MS = 60_000;
/** How long a push channel is still heard after its last handler stopped (see `hearPushes`). */
const PUSH_LINGER_MS = 5000;
/**
 * How long a receive's reply waits for a push that Redis sent this node before the receive ran (see
 * `pushesHeard`): a push whose connection broke never comes, and its leases then end at their deadline.
 */
const PUSH_CATCH_UP_MS = 1000;
/**
 * The most bytes of stored messages one push carries: pub/sub is not for bulk (a node's subscriber
 * connection, shared with the Socket.IO adapter, is cut by Redis past its output buffer limit). A bigger
 * message stays ready for a pull, which has its own byte budget.
 */
const PUSH_MAX_BYTES = 256 * 1024;

/** A push channel this node hears: the handlers of the queue's consumers, none while it lingers. */
interface PushHearing {
  handlers: Set<(delivery: PushedLeases) => void>;
  stop: () => void;
  linger: NodeJS.Timeout | undefined;
  /** The last acceptance seq heard on it; undefined until a push or a receive tells (see `pushesHeard`). */
  heardThrough: number | undefined;
  /** Receives waiting for a push through their seq. */
  waiters: Set<{ seq: number; heard: () => void }>;
}

export interface RedisQueueEngineOptions {
  /** This node's id: names its standing credits and its push channels. */
  nodeId: string;
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
  /** Whether groups and priorities may be stored: every node reads layout 3 (layout.ts). @default always */
  allowsGroups?: () => boolean;
  /** Told of each queue this node sends to or acks from (the dashboard's rate samples). @default nobody */
  active?: (address: QueueAddress) => void;
  /** How long an ack that may wait waits at most for others to share its script (ms). @default ACK_LINGER_MS */
  ackLingerMs?: number;
}

export class RedisQueueEngine implements QueueEngine {
  private readonly sends: TickBatcher<SendItem, boolean>;
  private readonly acks: TickBatcher<string, boolean>;
  /** Queues this node watches (it has consumers for them), by ref, with how many watchers each. */
  private readonly watched = new Map<string, number>();
  private readonly outcomes: QueueOutcomes;
  private readonly registrations: QueueRegistrations;
  private readonly scheduler: SweepScheduler;
  /** This node's push channels heard, by queue ref. */
  private readonly pushHearings = new Map<string, PushHearing>();

  constructor(private readonly options: RedisQueueEngineOptions) {
    this.outcomes = options.outcomes ?? IGNORED_OUTCOMES;
    this.registrations = new QueueRegistrations(options.queueRegistry, options.logger);
    this.sends = new TickBatcher((ref, items) => this.flushSends(ref, items), MAX_COALESCED);
    this.acks = new TickBatcher(
      (ref, receipts) => this.flushAcks(ref, receipts),
      MAX_COALESCED,
      options.ackLingerMs ?? ACK_LINGER_MS,
    );
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
    for (const hearing of this.pushHearings.values()) {
      clearTimeout(hearing.linger);
      hearing.stop();
    }
    this.pushHearings.clear();
    this.registrations.close();
  }

  send(address: QueueAddress, messages: NewMessage[]): Promise<boolean[]> {
    const placed = messages.some((message) => message.group !== undefined || (message.priority ?? 0) > 0);
    if (placed && this.options.allowsGroups?.() === false) {
      return Promise.reject(
        new MailroomError(
          "UNAVAILABLE",
          "groups and priorities wait until every node of the cluster runs a release that has them (a rolling upgrade is under way)",
        ),
      );
    }
    const ref = queueRef(address.namespace, address.queue);
    const registering = this.registrations.sent(address);
    if (!registering) return inStore(this.sends.add(ref, messages));
    return inStore(registering.then(() => this.sends.add(ref, messages)));
  }

  async receive(
    address: QueueAddress,
    max: number,
    visibilityMs: number,
    byteBudget = 0,
    standingCredit = 0,
  ): Promise<ReceiveResult> {
    const { scripts } = this.options;
    const token = randomHex(RECEIPT_TOKEN_BYTES);
    const standing = { credit: standingCredit, field: this.standingField(visibilityMs), lifeMs: STANDING_LIFE_MS };
    const reply = await inStore(scripts.queueReceive(target(address), max, visibilityMs, token, byteBudget, standing));
    if (reply.expired > 0) this.outcomes.expired(address, reply.expired);
    const leases = reply.entries.map(({ id, receipt, entry }) => leaseOf(id, receipt, entry));
    // The leases' due mark goes out without holding the deliveries back; one that fails is retried.
    if (leases.length > 0 && !reply.dueCovered) this.scheduler.markDueSoon(address, reply.deadline);
    await this.pushesHeard(address, reply.pushedThrough);
    return { leases, remaining: reply.remaining };
  }

  async ack(address: QueueAddress, receipts: string[], mayWait = false): Promise<{ acked: number; stale: string[] }> {
    const current = await inStore(this.acks.add(queueRef(address.namespace, address.queue), receipts, mayWait));
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

  async giveBack(address: QueueAddress, visibilityMs: number, receipts: string[]): Promise<void> {
    const field = this.standingField(visibilityMs);
    const { wasEmpty } = await inStore(this.options.scripts.queueReturn(target(address), field, receipts));
    if (wasEmpty) this.wake(address);
  }

  async withdraw(address: QueueAddress, visibilityMs: number): Promise<void> {
    await inStore(this.options.scripts.queueWithdraw(target(address), this.standingField(visibilityMs)));
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

  async peek(address: QueueAddress, state: PeekState, limit: number): Promise<PeekedMessage[]> {
    const found = await inStore(this.options.scripts.queuePeek(target(address), state, limit));
    return found.map(({ id, entry }) => {
      const { receipt: _receipt, seq: _seq, attempt, ...message } = leaseOf(id, "", entry);
      // A stored entry counts the deliveries that ended; one in flight is on the next.
      return { ...message, attempt: state === "inflight" ? attempt : attempt - 1 };
    });
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

  queueNamespaces(): Promise<string[]> {
    return this.options.queueRegistry.namespaces();
  }

  listQueues(namespace: string, consumers: ConsumerCounts): Promise<QueueListing> {
    const stats = (address: QueueAddress) => this.stats(address);
    return listRegisteredQueues({ registry: this.options.queueRegistry, stats, consumers }, namespace);
  }

  watch(address: QueueAddress, listener: () => void, pushed?: (delivery: PushedLeases) => void): () => void {
    const { keys, connections } = this.options;
    const channel = keys.wakeChannel(address.namespace, address.queue);
    const stopWaking = connections.listen(channel, listener);
    const stopPushes = pushed ? this.hearPushes(address, pushed) : () => {};
    const stopListening = () => {
      stopWaking();
      stopPushes();
    };
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

  /**
   * Hands the pushes this node hears for the queue to `pushed`; returns the function that stops. The
   * channel is heard a while after the last handler stopped: a push published before its credit was
   * withdrawn may still be on its way, and goes back to the queue rather than waiting out its lease.
   */
  private hearPushes(address: QueueAddress, pushed: (delivery: PushedLeases) => void): () => void {
    const { keys, connections, nodeId } = this.options;
    const ref = queueRef(address.namespace, address.queue);
    let hearing = this.pushHearings.get(ref);
    if (!hearing) {
      const created: PushHearing = {
        handlers: new Set(),
        stop: () => {},
        linger: undefined,
        heardThrough: undefined,
        waiters: new Set(),
      };
      created.stop = connections.listen(keys.pushChannel(address.namespace, address.queue, nodeId), (message) => {
        if (message) this.heardPush(address, message, created);
      });
      hearing = created;
      this.pushHearings.set(ref, hearing);
    }
    const current = hearing;
    clearTimeout(current.linger);
    current.handlers.add(pushed);
    return () => {
      current.handlers.delete(pushed);
      if (current.handlers.size > 0) return;
      clearTimeout(current.linger);
      current.linger = setTimeout(() => {
        if (current.handlers.size > 0 || this.pushHearings.get(ref) !== current) return;
        this.pushHearings.delete(ref);
        current.stop();
      }, PUSH_LINGER_MS);
      current.linger.unref();
    };
  }

  /**
   * Resolves once this node has heard the pushes of `address` through acceptance seq `seq` (at most
   * PUSH_CATCH_UP_MS): a push travels on the subscriber connection and a receive's reply on the command
   * connection, so the reply of a receive that ran after a push may come first. Waiting here, the push
   * reaches the queue's feed while its pull is still running, and the feed merges both in acceptance order
   * (queue-feed.ts). A hearing's first receive only sets where it stands: what was pushed before it began
   * was not for it.
   */
  private async pushesHeard(address: QueueAddress, seq: number): Promise<void> {
    const hearing = this.pushHearings.get(queueRef(address.namespace, address.queue));
    if (!hearing) return;
    if (hearing.heardThrough === undefined) {
      hearing.heardThrough = seq;
      return;
    }
    if (hearing.heardThrough >= seq) return;
    await new Promise<void>((resolve) => {
      const waiter = {
        seq,
        heard: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        hearing.waiters.delete(waiter);
        this.options.logger.debug({ queue: address.queue, seq }, "a push this node was sent did not come");
        resolve();
      }, PUSH_CATCH_UP_MS);
      hearing.waiters.add(waiter);
    });
  }

  private heardPush(address: QueueAddress, message: Buffer, hearing: PushHearing): void {
    let delivery: PushedLeases;
    try {
      delivery = pushedLeases(message);
    } catch (error) {
      // Only a script of ours publishes here; its leases end at their deadline: delayed, not lost.
      this.options.logger.error({ err: error, queue: address.queue }, "a push could not be read");
      return;
    }
    const lastSeq = delivery.leases.at(-1)?.seq ?? 0;
    hearing.heardThrough = Math.max(hearing.heardThrough ?? 0, lastSeq);
    const [handler] = hearing.handlers;
    if (handler) handler(delivery);
    for (const waiter of hearing.waiters) {
      if (waiter.seq > hearing.heardThrough) continue;
      hearing.waiters.delete(waiter);
      waiter.heard();
    }
    if (handler) return;
    const receipts = delivery.leases.map((lease) => lease.receipt);
    this.giveBack(address, delivery.visibilityMs, receipts).catch((error: unknown) => {
      this.options.logger.warn({ err: error, queue: address.queue }, "could not return a push no consumer took");
    });
  }

  private async flushSends(ref: string, items: SendItem[]): Promise<boolean[]> {
    const address = parseQueueRef(ref);
    const token = randomHex(RECEIPT_TOKEN_BYTES);
    const { scripts, dedupWindowMs } = this.options;
    const reply = await scripts.queueSend(target(address), dedupWindowMs, { token, maxBytes: PUSH_MAX_BYTES }, items);
    const { earliestDue, duplicates, pushedDeadline, pushedDueCovered } = reply;
    this.options.active?.(address);
    // The script itself publishes the wake-up when the queue was empty, and the pushes.
    if (pushedDeadline && !pushedDueCovered) this.scheduler.markDueSoon(address, pushedDeadline);
    await this.replicasHold(address);
    if (earliestDue) await this.scheduler.markDue(address, earliestDue);
    return duplicates;
  }

  private async flushAcks(ref: string, receipts: string[]): Promise<boolean[]> {
    const address = parseQueueRef(ref);
    const { current, wake } = await this.options.scripts.queueAck(target(address), receipts);
    this.options.active?.(address);
    // A group's next message may go now: consumers that found nothing to take look again.
    if (wake) this.wake(address);
    await this.replicasHold(address);
    return current;
  }

  /** The field of this node's standing credit for consumers of that visibility (queue-keys.lua KEYS[11]). */
  private standingField(visibilityMs: number): string {
    return this.options.keys.standingField(this.options.nodeId, visibilityMs);
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

function staleReceipt(): MailroomError {
  return new MailroomError("NOT_FOUND", "no current lease has this receipt (unknown, expired or already used)");
}
