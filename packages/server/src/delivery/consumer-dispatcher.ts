/**
 * Delivers queued messages to this node's consumers. Each queue with local consumers has a feed that
 * pulls from the engine only as many messages as its consumers have free prefetch, when woken (a send,
 * a requeue, a due delay, on any node; and once its wake-up subscription is in place), and when a
 * consumer frees a slot while the queue may hold ready messages. A feed whose last pull left the queue
 * empty costs nothing until a wake-up (docs/protocol.md §15). Wake-ups are reliable while the subscription
 * stands, and the engine wakes every watcher when a Redis connection comes back; as a last safety net,
 * idle feeds pull once every IDLE_RECHECK_MS, paced at IDLE_CHECKS_PER_POLL a poll whatever their number.
 * Consumers of one queue on this node take turns; across nodes each node pulls for its own free capacity,
 * so none starves while it has room.
 *
 * Push delivery (queue-engine.ts): a pull that empties the queue leaves standing the free slots of the
 * feed's consumers of the same visibility, and later sends lease up to that many messages straight to this
 * node. Pulled and pushed leases wait in one line per feed, in acceptance order (queue-feed.ts), and are
 * handed out among the consumers of their visibility in turn as slots free, so neither overtakes the other
 * and no consumer goes past its prefetch. A lease whose consumers all went, or that waited half its
 * visibility, goes back to the head of the queue with no attempt counted (and the credit is withdrawn).
 *
 * A consumer whose socket has `maxUnsentBytes` or more buffered unsent (a client that stopped reading)
 * gets nothing more until the node has written it out; a pull leases at most the bytes left under that
 * bound, so the node's memory stays bounded whatever the prefetch. Its leases end as usual.
 *
 * A delivery stops counting against prefetch when it is acked or nacked, or its lease ends: by the
 * engine's clock, which this node approximates from below with its own (it frees the slot at receive
 * time + visibility, never before the store ends the lease). When a socket goes, its leases end at once.
 */
import type { QueueMessage } from "@mailroom/protocol";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { ClusterRegistry } from "../engines/cluster-registry.js";
import type { Lease, QueueAddress, QueueEngine } from "../engines/queue-engine.js";
import { queueRefOf } from "../engines/refs.js";
import type { MailroomSocket } from "../socket-types.js";
import { randomHex } from "../structures/random-hex.js";
import { Consumer } from "./consumer.js";
import { deliveryFrames } from "./delivery-frames.js";
import { leasedMessage } from "./leased-message.js";
import { QueueFeed } from "./queue-feed.js";

/**
 * How often slots whose lease has ended are freed, and feeds that may have ready messages and now have
 * room (a slot freed, a socket that wrote out its backlog) pull again.
 */
const POLL_INTERVAL_MS = 1000;
/** An idle feed (its last pull left the queue empty) pulls again this long after, in case a wake-up was lost. */
const IDLE_RECHECK_MS = 10_000;
/** Idle feeds that pull again per poll at most: a node's cost of idle consumers stays flat in their number. */
const IDLE_CHECKS_PER_POLL = 20;

export interface DispatcherOptions {
  /** Bytes a socket may hold unsent before its consumers get no more deliveries (docs/protocol.md §15). */
  maxUnsentBytes: number;
  /** The bytes the node holds for a socket, not yet written to the network. */
  unsentBytes: (socket: MailroomSocket) => number;
}

export class ConsumerDispatcher {
  private readonly feeds = new Map<string, QueueFeed>();
  private readonly consumers = new Map<string, Consumer>();
  private readonly consumersBySocket = new Map<string, Set<Consumer>>();
  private readonly receiptOwners = new Map<string, Consumer>();
  /** Receipts an ack or nack is settling now, each with how many: a release leaves them to it. */
  private readonly settling = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private draining = false;
  /** Idle feeds waiting for their safety pull, and when the next round of them may begin. */
  private idleRechecks: QueueFeed[] = [];
  private nextIdleRecheckAt = performance.now() + IDLE_RECHECK_MS;
  /** Called when a delivery is settled or ends, while a drain waits for them all. */
  private onSettled: (() => void) | undefined;

  constructor(
    private readonly engine: QueueEngine,
    private readonly registry: ClusterRegistry,
    private readonly logger: FastifyBaseLogger,
    private readonly options: DispatcherOptions,
  ) {}

  start(): void {
    this.pollTimer = setInterval(() => this.poll(), POLL_INTERVAL_MS);
    this.pollTimer.unref();
  }

  close(): void {
    clearInterval(this.pollTimer);
    for (const feed of this.feeds.values()) feed.stopWatching();
    this.feeds.clear();
  }

  /**
   * The node drains: no consumer gets another delivery; deliveries still held get up to `graceMs` to be
   * acked or nacked, then every lease left ends now, its message back at the head of its queue for
   * consumers on other nodes. Resolves with how many leases it ended.
   */
  async drain(graceMs: number): Promise<number> {
    this.draining = true;
    clearInterval(this.pollTimer);
    for (const consumer of this.consumers.values()) consumer.cancelled = true;
    const pulls = [...this.feeds.values()].map((feed) => feed.current);
    // No send pushes to this node any more; a push already on its way is returned (nobody takes it).
    const feeds = [...this.feeds.values()];
    await Promise.all(feeds.flatMap((feed) => this.withdrawAll(feed)));
    this.close();
    // Nobody takes the pushed leases still waiting: back to their queues.
    for (const feed of feeds) this.handOutWaiting(feed);
    // A pull under way for a cancelled consumer releases what it leased instead of delivering it.
    await Promise.all(pulls);
    await this.deliveriesSettled(graceMs);
    let ended = 0;
    const releases: Promise<void>[] = [];
    for (const consumer of this.consumers.values()) {
      const receipts = this.unsettled(consumer);
      ended += receipts.length;
      releases.push(this.release(consumer.address, receipts));
    }
    await Promise.all(releases);
    return ended;
  }

  /** Registers a consumer and starts delivering to it; returns its id. */
  consume(
    socket: MailroomSocket,
    address: QueueAddress,
    prefetch: number,
    visibilityMs: number,
    batch = false,
  ): string {
    if (this.draining) throw new MailroomError("UNAVAILABLE", "the node is draining: consume on another node");
    const consumer = new Consumer(`c-${randomHex(8)}`, socket, address, prefetch, visibilityMs, batch);
    this.consumers.set(consumer.id, consumer);
    let owned = this.consumersBySocket.get(socket.id);
    if (!owned) {
      owned = new Set();
      this.consumersBySocket.set(socket.id, owned);
    }
    owned.add(consumer);
    const feed = this.feedOf(address);
    feed.consumers.push(consumer);
    this.countConsumers(feed);
    void feed.pump();
    return consumer.id;
  }

  /** Stops new deliveries to a consumer of this socket; its unacked deliveries stay leased. */
  cancel(socket: MailroomSocket, consumerId: string): void {
    const consumer = this.consumers.get(consumerId);
    if (!consumer || consumer.socket !== socket || consumer.cancelled) {
      throw new MailroomError("NOT_FOUND", `no consumer ${consumerId} on this connection`);
    }
    consumer.cancelled = true;
    this.detach(consumer);
  }

  /**
   * Whether acks of these receipts may wait a few ms to share a store call: not when a consumer of this
   * node that holds one of them holds half its prefetch or more (it would wait for credit meanwhile).
   */
  mayWaitToSettle(receipts: string[]): boolean {
    for (const receipt of receipts) {
      const consumer = this.receiptOwners.get(receipt);
      if (consumer && consumer.deliveries.size * 2 >= consumer.prefetch) return false;
    }
    return true;
  }

  /**
   * Marks receipts an ack or nack is settling until the returned function is called: a release of their
   * consumer's leases (its socket went, the node drains) leaves them to that ack or nack, which may have
   * come in just before the socket went. Should it fail, the lease ends at its expiry instead.
   */
  beginSettling(receipts: string[]): () => void {
    for (const receipt of receipts) this.settling.set(receipt, (this.settling.get(receipt) ?? 0) + 1);
    return () => {
      for (const receipt of receipts) {
        const count = (this.settling.get(receipt) ?? 1) - 1;
        if (count > 0) this.settling.set(receipt, count);
        else this.settling.delete(receipt);
      }
    };
  }

  /** Frees the prefetch slots of deliveries of this queue that the store acked or nacked. */
  settled(address: QueueAddress, receipts: string[]): void {
    const feeds = new Set<QueueFeed>();
    for (const receipt of receipts) {
      const consumer = this.receiptOwners.get(receipt);
      if (!consumer || queueRefOf(consumer.address) !== queueRefOf(address)) continue;
      this.receiptOwners.delete(receipt);
      consumer.deliveries.delete(receipt);
      const feed = this.feeds.get(queueRefOf(consumer.address));
      if (feed) feeds.add(feed);
    }
    for (const feed of feeds) {
      this.handOutWaiting(feed);
      if (feed.mayHaveReady) void feed.pump();
    }
    this.onSettled?.();
  }

  /** Records a lease's new end. */
  extended(receipt: string, visibilityMs: number): void {
    const consumer = this.receiptOwners.get(receipt);
    consumer?.deliveries.set(receipt, performance.now() + visibilityMs);
  }

  /** The socket went: its consumers stop, and every lease they hold ends now. */
  async socketGone(socket: MailroomSocket): Promise<void> {
    const owned = this.consumersBySocket.get(socket.id);
    if (!owned) return;
    this.consumersBySocket.delete(socket.id);
    const releases: Promise<void>[] = [];
    for (const consumer of owned) {
      if (!consumer.cancelled) this.detach(consumer);
      this.consumers.delete(consumer.id);
      releases.push(this.release(consumer.address, this.unsettled(consumer)));
    }
    this.onSettled?.();
    await Promise.all(releases);
  }

  /** Resolves when no consumer holds a delivery, or after `timeoutMs`. */
  private deliveriesSettled(timeoutMs: number): Promise<void> {
    // A delivery whose lease has run out no longer counts: the poll that would free it is stopped.
    const holding = () => {
      const now = performance.now();
      for (const consumer of this.consumers.values()) {
        for (const deadline of consumer.deliveries.values()) if (deadline > now) return true;
      }
      return false;
    };
    if (!holding() || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.onSettled = undefined;
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.onSettled = () => {
        if (!holding()) finish();
      };
    });
  }

  /** Takes every delivery from a consumer that goes; returns the receipts no ack or nack is settling. */
  private unsettled(consumer: Consumer): string[] {
    const receipts = [...consumer.deliveries.keys()];
    for (const receipt of receipts) this.receiptOwners.delete(receipt);
    consumer.deliveries.clear();
    return receipts.filter((receipt) => !this.settling.has(receipt));
  }

  private async release(address: QueueAddress, receipts: string[]): Promise<void> {
    if (receipts.length === 0) return;
    try {
      await this.engine.release(address, receipts);
    } catch (error) {
      // The leases still end when they expire: nothing is lost, only delayed.
      this.logger.warn({ err: error, queue: address.queue }, "could not end leases at once; they end at expiry");
    }
  }

  private feedOf(address: QueueAddress): QueueFeed {
    const key = queueRefOf(address);
    let feed = this.feeds.get(key);
    if (!feed) {
      const created: QueueFeed = new QueueFeed(
        address,
        this.engine.watch(
          address,
          () => created.woken(),
          (delivery) => created.pushed(delivery),
        ),
        (consumer) => this.pullFor(consumer),
        () => this.handOutWaiting(created),
        (consumer) => this.backlogged(consumer),
        this.logger,
      );
      feed = created;
      this.feeds.set(key, feed);
    }
    return feed;
  }

  /** Takes a consumer out of its feed's rotation (and the feed away when it was the last). */
  private detach(consumer: Consumer): void {
    const key = queueRefOf(consumer.address);
    const feed = this.feeds.get(key);
    if (!feed) return;
    const index = feed.consumers.indexOf(consumer);
    if (index >= 0) feed.consumers.splice(index, 1);
    this.countConsumers(feed);
    void this.withdraw(feed, consumer.visibilityMs);
    if (feed.consumers.length === 0) {
      feed.stopWatching();
      this.feeds.delete(key);
    }
    // Pushed leases that only this consumer's group could take go back.
    this.handOutWaiting(feed);
  }

  /**
   * Withdraws the credit standing for the feed's consumers of this visibility (one of them went, so it
   * may be more than they have room for); those left pull, which leaves their own standing again.
   */
  private async withdraw(feed: QueueFeed, visibilityMs: number): Promise<void> {
    try {
      await this.engine.withdraw(feed.address, visibilityMs);
    } catch (error) {
      // A push beyond the consumers' room is returned when it comes; the credit lapses on its own.
      this.logger.debug({ err: error, queue: feed.address.queue }, "could not withdraw a standing credit");
      return;
    }
    if (this.draining || this.feeds.get(queueRefOf(feed.address)) !== feed) return;
    if (feed.consumers.some((consumer) => consumer.visibilityMs === visibilityMs)) {
      feed.woken();
    }
  }

  private withdrawAll(feed: QueueFeed): Promise<void>[] {
    const visibilities = new Set(feed.consumers.map((consumer) => consumer.visibilityMs));
    return [...visibilities].map((visibilityMs) => this.withdraw(feed, visibilityMs));
  }

  /**
   * Hands the feed's waiting leases, oldest first, to its consumers of their visibility in turn, as far as
   * they have room; the first that none can take now waits with all after it, for a slot to free (an ack),
   * so none overtakes another and no consumer goes past its prefetch. One whose consumers are all gone, or
   * that waited half its lease, goes back to the head of the queue, no attempt counted.
   */
  private handOutWaiting(feed: QueueFeed): void {
    if (feed.waiting.length === 0) return;
    const now = performance.now();
    const live = this.feeds.get(queueRefOf(feed.address)) === feed;
    const groups = new Map<number, Consumer[]>();
    if (live) {
      for (const consumer of feed.consumers) {
        const group = groups.get(consumer.visibilityMs);
        if (group) group.push(consumer);
        else groups.set(consumer.visibilityMs, [consumer]);
      }
    }
    const canTake = (consumer: Consumer) => consumer.freeSlots() > 0 && !this.backlogged(consumer);
    const deliveries = new Map<Consumer, QueueMessage[]>();
    const unseen = new Map<number, string[]>();
    let handedOut = 0;
    for (const { lease, visibilityMs, arrivedAt } of feed.waiting) {
      const group = groups.get(visibilityMs);
      if (!group || now - arrivedAt > visibilityMs / 2) {
        const receipts = unseen.get(visibilityMs);
        if (receipts) receipts.push(lease.receipt);
        else unseen.set(visibilityMs, [lease.receipt]);
        handedOut += 1;
        continue;
      }
      const taker = feed.nextTaker(group, canTake);
      if (!taker) break;
      handedOut += 1;
      // Its lease began before it arrived here: the slot's end counts from arrival, never before the store's.
      const message = this.deliverable(taker, lease, arrivedAt);
      if (!message) continue;
      const messages = deliveries.get(taker);
      if (messages) messages.push(message);
      else deliveries.set(taker, [message]);
    }
    feed.waiting.splice(0, handedOut);
    for (const [consumer, messages] of deliveries) this.emitTo(consumer, messages);
    for (const [visibilityMs, receipts] of unseen) {
      this.engine.giveBack(feed.address, visibilityMs, receipts).catch((error: unknown) => {
        // They end at their deadline instead: delayed, not lost.
        this.logger.warn({ err: error, queue: feed.address.queue }, "could not give leases back at once");
      });
    }
  }

  private backlogged(consumer: Consumer): boolean {
    return this.options.unsentBytes(consumer.socket) >= this.options.maxUnsentBytes;
  }

  private emitTo(consumer: Consumer, messages: QueueMessage[]): void {
    if (consumer.batch) {
      for (const frame of deliveryFrames(messages)) consumer.socket.emit("queue:messages", frame);
    } else {
      for (const message of messages) consumer.socket.emit("queue:message", message);
    }
  }

  private countConsumers(feed: QueueFeed): void {
    const { namespace, queue } = feed.address;
    void this.registry.setQueueConsumers(namespace, queue, feed.consumers.length);
  }

  private async pullFor(consumer: Consumer): Promise<{ got: number; remaining: number }> {
    const free = consumer.freeSlots();
    const byteBudget = Math.max(1, this.options.maxUnsentBytes - this.options.unsentBytes(consumer.socket));
    const standingCredit = this.draining ? 0 : this.standingCredit(consumer);
    const { leases, remaining } = await this.engine.receive(
      consumer.address,
      free,
      consumer.visibilityMs,
      byteBudget,
      standingCredit,
    );
    const feed = this.feeds.get(queueRefOf(consumer.address));
    if (!feed || consumer.cancelled || consumer.socket.disconnected) {
      await this.release(
        consumer.address,
        leases.map((lease) => lease.receipt),
      );
      return { got: 0, remaining };
    }
    // Handed out by the feed, with any push that crossed this pull (QueueFeed.pull).
    feed.admit(leases, consumer.visibilityMs);
    return { got: leases.length, remaining };
  }

  /** The free slots of the consumers of `consumer`'s feed with its visibility: what a pull leaves standing. */
  private standingCredit(consumer: Consumer): number {
    const feed = this.feeds.get(queueRefOf(consumer.address));
    let credit = 0;
    for (const each of feed?.consumers ?? []) {
      if (each.visibilityMs === consumer.visibilityMs && !this.backlogged(each))
        credit += Math.max(0, each.freeSlots());
    }
    return credit;
  }

  /** Records a delivery to `consumer` and returns the message to send; undefined when it cannot be decoded. */
  private deliverable(consumer: Consumer, lease: Lease, receivedAt: number): QueueMessage | undefined {
    const message = leasedMessage(lease, this.logger);
    if (!message) return undefined;
    consumer.deliveries.set(lease.receipt, receivedAt + consumer.visibilityMs);
    this.receiptOwners.set(lease.receipt, consumer);
    return { queue: consumer.address.queue, consumer: consumer.id, ...message };
  }

  /** Frees slots whose lease has ended by now, and pulls for every feed that may have messages and has room. */
  private poll(): void {
    const now = performance.now();
    for (const consumer of this.consumers.values()) {
      for (const [receipt, deadline] of consumer.deliveries) {
        if (deadline <= now) {
          consumer.deliveries.delete(receipt);
          this.receiptOwners.delete(receipt);
        }
      }
    }
    for (const feed of this.feeds.values()) {
      this.handOutWaiting(feed);
      if (feed.mayHaveReady && feed.hasFreeSlots()) void feed.pump();
    }
    this.recheckIdleFeeds(now);
  }

  /** Pulls for a few idle feeds with room, so a lost wake-up delays a message by IDLE_RECHECK_MS at most. */
  private recheckIdleFeeds(now: number): void {
    if (this.idleRechecks.length === 0) {
      if (now < this.nextIdleRecheckAt) return;
      this.idleRechecks = [...this.feeds.values()].filter((feed) => !feed.mayHaveReady);
      this.nextIdleRecheckAt = now + IDLE_RECHECK_MS;
    }
    for (const feed of this.idleRechecks.splice(0, IDLE_CHECKS_PER_POLL)) {
      if (this.feeds.get(queueRefOf(feed.address)) === feed && feed.hasFreeSlots()) void feed.pump();
    }
  }
}
