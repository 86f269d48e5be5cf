/**
 * The feed of one queue on this node: its consumers, the pull running for them (one at a time), whether
 * the queue may hold ready messages, and the line of leases not handed out yet, pulled or pushed, in
 * acceptance order (consumer-dispatcher.ts hands them out and says when to pull).
 */
import type { FastifyBaseLogger } from "fastify";
import type { Lease, PushedLeases, QueueAddress } from "../engines/queue-engine.js";
import type { Consumer } from "./consumer.js";

/** A lease the node holds for a consumer of its visibility, not handed out yet. */
export interface WaitingLease {
  lease: Lease;
  visibilityMs: number;
  /** When it reached the node (performance.now()). */
  arrivedAt: number;
}

export class QueueFeed {
  readonly consumers: Consumer[] = [];
  /** The pull running now (resolved when none is). */
  current: Promise<void> = Promise.resolve();
  /**
   * Whether the queue may hold ready messages: false after a receive left none, true again on a wake-up
   * (a wake-up during a pull makes it pull again). A settled delivery pulls only when it is true, so an
   * idle queue costs no store call per ack; the periodic poll still pulls whatever it says.
   */
  mayHaveReady = true;
  /** Wake-ups heard so far: a pull answered before a wake-up must not clear what the wake-up said. */
  private wakeUps = 0;
  private pulling = false;
  private pullAgain = false;
  private turn = 0;
  /** Pushes that came while a receive ran, admitted with what it leased (see `pushed`). */
  private held: PushedLeases[] = [];
  /**
   * Leases not handed out yet, pulled or pushed, in acceptance order (ConsumerDispatcher.handOutWaiting):
   * a push and a pull that cross are merged by `seq` (each keeping its own order), so neither overtakes the
   * other. What waits is older than anything still ready, so the feed pulls only once nothing waits.
   */
  readonly waiting: WaitingLease[] = [];
  private takerTurn = 0;

  constructor(
    readonly address: QueueAddress,
    readonly stopWatching: () => void,
    private readonly receive: (consumer: Consumer) => Promise<{ got: number; remaining: number }>,
    /** Hands out what waits (ConsumerDispatcher.handOutWaiting). */
    private readonly handOut: () => void,
    /** Whether a consumer's socket holds too much unsent to take more now. */
    private readonly backlogged: (consumer: Consumer) => boolean,
    private readonly logger: FastifyBaseLogger,
  ) {}

  hasFreeSlots(): boolean {
    return this.consumers.some((consumer) => consumer.freeSlots() > 0);
  }

  /** The next of `group` that `canTake`, taking turns across calls; undefined when none can. */
  nextTaker(group: Consumer[], canTake: (consumer: Consumer) => boolean): Consumer | undefined {
    for (let tries = 0; tries < group.length; tries += 1) {
      const candidate = group[(this.takerTurn + tries) % group.length] as Consumer;
      if (canTake(candidate)) {
        this.takerTurn = (this.takerTurn + tries + 1) % group.length;
        return candidate;
      }
    }
    return undefined;
  }

  /**
   * Leases join the waiting line. One batch keeps the store's order (which puts priorities and groups'
   * turns before acceptance, docs/protocol.md §11); batches that meet in line (a push that crossed a pull)
   * are merged in acceptance order, each keeping its own order: a pull's batch by priority stays so.
   */
  admit(leases: Lease[], visibilityMs: number): void {
    const arrivedAt = performance.now();
    const arriving = leases.map((lease) => ({ lease, visibilityMs, arrivedAt }));
    if (this.waiting.length === 0) {
      this.waiting.push(...arriving);
      return;
    }
    const merged = mergedBySeq(this.waiting, arriving);
    this.waiting.length = 0;
    this.waiting.push(...merged);
  }

  /**
   * A push came. While a receive runs it is held, to be admitted with what the receive leased: either may
   * be the older, and until both are in line neither may go.
   */
  pushed(delivery: PushedLeases): void {
    if (this.pulling) {
      this.held.push(delivery);
      return;
    }
    this.admit(delivery.leases, delivery.visibilityMs);
    this.handOut();
  }

  /** Messages may have become ready (a wake-up, or a poll that cannot know): pull. */
  woken(): void {
    this.wakeUps += 1;
    this.mayHaveReady = true;
    void this.pump();
  }

  /** Pulls for consumers with free slots until they are full or the queue is empty. */
  pump(): Promise<void> {
    if (this.waiting.length > 0) return this.current;
    if (this.pulling) {
      this.pullAgain = true;
      return this.current;
    }
    this.pulling = true;
    this.current = this.pull();
    return this.current;
  }

  private async pull(): Promise<void> {
    try {
      do {
        this.pullAgain = false;
        const count = this.consumers.length;
        this.turn = (this.turn + 1) % Math.max(count, 1);
        for (let offset = 0; offset < count; offset += 1) {
          // Pushed leases still waiting are older than anything ready: they go first.
          if (this.waiting.length > 0) return;
          const consumer = this.consumers[(this.turn + offset) % count];
          if (!consumer || consumer.freeSlots() <= 0 || this.backlogged(consumer)) continue;
          const wakeUpsBefore = this.wakeUps;
          const { got, remaining } = await this.receive(consumer);
          this.mayHaveReady = remaining > 0 || this.wakeUps !== wakeUpsBefore;
          this.admitHeld();
          this.handOut();
          if (got === 0 && remaining === 0) break;
          if (remaining > 0 && this.hasFreeSlots()) this.pullAgain = true;
        }
      } while (this.pullAgain);
    } catch (error) {
      this.logger.debug({ err: error, queue: this.address.queue }, "pull failed; the next poll retries");
      this.mayHaveReady = true; // Unknown until a pull succeeds.
    } finally {
      this.pulling = false;
      this.admitHeld();
      this.handOut();
    }
  }

  private admitHeld(): void {
    for (const delivery of this.held) this.admit(delivery.leases, delivery.visibilityMs);
    this.held = [];
  }
}

/** Two lines merged by acceptance seq, each keeping its own order (a stable merge, not a sort). */
function mergedBySeq(first: WaitingLease[], second: WaitingLease[]): WaitingLease[] {
  const merged: WaitingLease[] = [];
  let a = 0;
  let b = 0;
  while (a < first.length && b < second.length) {
    const fromFirst = first[a] as WaitingLease;
    const fromSecond = second[b] as WaitingLease;
    if (fromFirst.lease.seq <= fromSecond.lease.seq) {
      merged.push(fromFirst);
      a += 1;
    } else {
      merged.push(fromSecond);
      b += 1;
    }
  }
  return merged.concat(first.slice(a), second.slice(b));
}
