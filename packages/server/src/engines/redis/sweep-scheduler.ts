/**
 * The timed work of every queue on Redis (lease ends, delays): a due-time index for the whole cluster, in
 * partitions spread over a Redis Cluster's masters (due-partitions.ts), which every node polls with one
 * script per partition whatever the number of queues (sent together: one round trip per master). A
 * partition is claimed from at the tick when its next due work is (the claim says in how long), at the
 * tick after this node marked it, and at least every PARTITION_RECHECK_MS (marks by other nodes): an idle
 * node costs Redis 16 claims a second, not 80. Each due queue is claimed by one node, swept
 * (queue-sweep.lua) and settled with its next due time. Layout 1's single index is swept as well while
 * it holds entries (layout.ts).
 *
 * Invariants (docs/protocol.md §15): the index holds only real deadlines, and a claim takes turns across
 * namespaces (claim-due-queues.lua), so no tenant's queues delay another's timed work. Claimed queues are
 * swept concurrently; a tick claims again while claims come back full. A due mark that cannot be written
 * (Redis away) is kept and written again at each tick until it lands. As a safety net for marks lost with
 * a node that died between a script and its mark, a queue is looked at directly (swept outside the
 * index, its next deadline marked) when its first consumer on this node comes, and every
 * RECHECK_WATCHED_MS while it has consumers here, paced at LOOKS_PER_TICK.
 * What it does not do: decide what a sweep does to a queue (the script does) or know consumers.
 */
import type { FastifyBaseLogger } from "fastify";
import type { QueueAddress } from "../queue-engine.js";
import { parseQueueRef, queueRef } from "../refs.js";
import type { RedisConnections } from "./connections.js";
import { DUE_PARTITIONS } from "./due-partitions.js";
import type { SweepReply } from "./script-replies.js";
import type { QueueTarget, Scripts } from "./scripts.js";
import { inStore } from "./store-errors.js";

/** How often each node looks for due queues: the precision of lease expiry and delays. */
const SWEEP_INTERVAL_MS = 200;
/** Due queues one claim takes from a partition (shared across the namespaces that have due work there). */
const SWEEP_QUEUES_PER_CLAIM = 50;
/**
 * Claims one tick makes at most per partition while each comes back full: bounds a node's sweeping at
 * 16 partitions x 2 x 50 queues per 200 ms tick, 8,000 queues/s.
 */
const SWEEP_CLAIMS_PER_TICK = 2;
/** Leases and delayed messages one sweep script handles; more waits for the next call. */
const SWEEP_BATCH = 500;
/** A claimed queue is pushed this far ahead, so a sweeper that dies leaves it to another node. */
const SWEEP_CLAIM_MS = 5000;
/**
 * Longest wait before a partition is claimed from again: the delay, past its due time, of work that
 * another node marked and that node is gone before it could sweep it.
 */
const PARTITION_RECHECK_MS = 1000;
/** How often the queues this node consumes are looked at whatever the due index says (a safety net). */
const RECHECK_WATCHED_MS = 30_000;
/**
 * Queues looked at per tick, outside the index (a first consumer's queue, the recheck): paced, so a
 * client that opens thousands of consumers costs Redis at most 250 looks a second.
 */
const LOOKS_PER_TICK = 50;

export interface SweepSchedulerOptions {
  connections: RedisConnections;
  scripts: Scripts;
  logger: FastifyBaseLogger;
  /** Where a queue's scripts work (the engine knows dead-letter queues). */
  target: (address: QueueAddress) => QueueTarget;
  /** Told what a sweep did to a queue: the engine wakes its consumers and counts its dead letters. */
  swept: (address: QueueAddress, reply: SweepReply) => void;
  /** The queues this node has consumers for, by ref: the recheck looks at each. */
  watched: ReadonlyMap<string, unknown>;
  /** The partition of the due index that holds a queue's timed work (keys.ts). */
  partitionOf: (address: QueueAddress) => number;
  /** Whether layout 1's due index may still hold entries, to be swept too (layout.ts). */
  legacyDueIndex: () => boolean;
}

/** Where claims come from: a partition of the due index, or layout 1's index. */
type DueIndex = number | "legacy";

const PARTITIONS: readonly DueIndex[] = Array.from({ length: DUE_PARTITIONS }, (_, partition) => partition);

export class SweepScheduler {
  private timer: NodeJS.Timeout | undefined;
  /** A tick's claims are running. */
  private sweeping = false;
  /** A tick's looks outside the index are running. */
  private looking = false;
  /** Queues to look at outside the index, by ref, in the order they were asked for. */
  private readonly pendingLooks = new Set<string>();
  /** When the next recheck of every watched queue may begin (performance.now() ms). */
  private nextRecheckAt = 0;
  /** Due marks that could not be written yet, by queue ref: the earliest due time of each. */
  private readonly unmarked = new Map<string, number>();
  /** When each partition is next claimed from (performance.now() ms; 0: at the next tick). */
  private readonly nextClaimAt = new Array<number>(DUE_PARTITIONS).fill(0);

  constructor(private readonly options: SweepSchedulerOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.nextRecheckAt = performance.now() + RECHECK_WATCHED_MS;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Writes a queue's due mark. One that fails (Redis away) is kept and written again at each tick until
   * it lands, so leases and delays on any queue, watched or not, end in time; the caller still hears the
   * failure.
   */
  async markDue(address: QueueAddress, due: number): Promise<void> {
    const ref = queueRef(address.namespace, address.queue);
    try {
      await inStore(this.options.scripts.markDueQueue(ref, due));
      // The mark may be sooner than what this node knew of the partition: look at the next tick. Only
      // once it is written: a claim answered before then did not see it (one connection per master
      // answers in order), and would otherwise put the next look off.
      this.nextClaimAt[this.options.partitionOf(address)] = 0;
    } catch (error) {
      this.keepUnmarked(ref, due);
      throw error;
    }
  }

  /** Writes a due mark in the background: a failure is only kept for the retry. */
  markDueSoon(address: QueueAddress, due: number): void {
    this.markDue(address, due).catch(() => {});
  }

  /** Asks for a look at a queue's timed work soon (its first consumer on this node came). */
  lookSoon(address: QueueAddress): void {
    this.pendingLooks.add(queueRef(address.namespace, address.queue));
  }

  /**
   * One tick of timed work: from every partition at once, claim the due queues (a share per namespace),
   * sweep them concurrently, record when each is next due; claim again while claims come back full. Then
   * look at a few queues directly.
   */
  private tick(): void {
    if (this.options.connections.command.status !== "ready") return;
    // Claims and looks run apart: a tick's paced looks (a flood of new consumers) never hold back the
    // next tick's claims, whose deadlines are due now.
    if (!this.sweeping) void this.claimDue();
    if (!this.looking) void this.lookAtSome();
  }

  private async claimDue(): Promise<void> {
    this.sweeping = true;
    try {
      if (this.unmarked.size > 0) await this.retryUnmarked();
      const now = performance.now();
      const due = PARTITIONS.filter((partition) => (this.nextClaimAt[partition as number] ?? 0) <= now);
      const indexes = this.options.legacyDueIndex() ? [...due, "legacy" as const] : due;
      await Promise.all(indexes.map((index) => this.sweepDue(index)));
    } catch (error) {
      this.options.logger.debug({ err: error }, "queue sweep failed; retrying at the next tick");
    } finally {
      this.sweeping = false;
    }
  }

  /** Claims and sweeps the due queues of one index; a failure (its master away) leaves the others be. */
  private async sweepDue(index: DueIndex): Promise<void> {
    const { scripts, logger } = this.options;
    try {
      for (let claims = 0; claims < SWEEP_CLAIMS_PER_TICK; claims += 1) {
        // The claim measures "due in" when Redis runs it, between this moment and its answer, which a busy
        // Redis may give late: counting from now errs early, never late.
        const claimedAt = performance.now();
        const { claimed, nextDueInMs } =
          index === "legacy"
            ? await scripts.claimLegacyDueQueues(SWEEP_QUEUES_PER_CLAIM, SWEEP_CLAIM_MS)
            : await scripts.claimDueQueues(index, SWEEP_QUEUES_PER_CLAIM, SWEEP_CLAIM_MS);
        if (index !== "legacy") {
          const wait = Math.min(nextDueInMs ?? PARTITION_RECHECK_MS, PARTITION_RECHECK_MS);
          // A full claim leaves more due now; the sweeps' settles may bring work sooner than the claim saw.
          this.nextClaimAt[index] = claimed.length > 0 ? 0 : claimedAt + wait - SWEEP_INTERVAL_MS / 2;
        }
        await Promise.all(claimed.map(({ ref, generation }) => this.sweepClaimed(ref, generation, index === "legacy")));
        if (claimed.length < SWEEP_QUEUES_PER_CLAIM) break;
      }
    } catch (error) {
      logger.debug({ err: error, index }, "claiming due queues failed; retrying at the next tick");
    }
  }

  /** Sweeps a claimed queue and settles its claim; one that fails is left to the claim's expiry. */
  private async sweepClaimed(ref: string, generation: string, legacy: boolean): Promise<void> {
    const { scripts, logger } = this.options;
    const address = parseQueueRef(ref);
    try {
      const reply = await scripts.queueSweep(this.options.target(address), SWEEP_BATCH);
      this.options.swept(address, reply);
      const nextDue = reply.more ? 1 : reply.nextDue;
      if (!legacy) {
        await scripts.settleDueQueue(ref, generation, nextDue);
      } else {
        // Out of layout 1's index (unless an old node marked it since), into the queue's partition.
        await scripts.settleDueQueue(ref, generation, 0, true);
        if (nextDue) await scripts.markDueQueue(ref, nextDue);
      }
    } catch (error) {
      logger.debug(
        { err: error, queue: address.queue },
        "sweeping a queue failed; its claim runs out and it is swept again",
      );
    }
  }

  /**
   * Sweeps one queue outside the index and marks its next real deadline. It never marks a queue due
   * "now" just to look at it, which would let one namespace's thousands of consumers crowd out every
   * other's deadlines.
   */
  private async look(ref: string): Promise<void> {
    const address = parseQueueRef(ref);
    const reply = await this.options.scripts.queueSweep(this.options.target(address), SWEEP_BATCH);
    this.options.swept(address, reply);
    if (reply.nextDue) await this.markDue(address, reply.nextDue);
  }

  /** Looks at up to LOOKS_PER_TICK queues: first consumers' queues, then a paced recheck of every watched one. */
  private async lookAtSome(): Promise<void> {
    this.looking = true;
    try {
      await this.lookAtSomeNow();
    } finally {
      this.looking = false;
    }
  }

  private async lookAtSomeNow(): Promise<void> {
    const { watched } = this.options;
    if (this.pendingLooks.size === 0 && performance.now() >= this.nextRecheckAt) {
      for (const ref of watched.keys()) this.pendingLooks.add(ref);
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
        .filter((ref) => watched.has(ref))
        .map((ref) =>
          this.look(ref).catch((error: unknown) => {
            this.options.logger.debug({ err: error }, "could not look at a queue's timed work; the recheck will");
          }),
        ),
    );
  }

  private keepUnmarked(ref: string, due: number): void {
    const earlier = this.unmarked.get(ref);
    if (earlier === undefined || due < earlier) this.unmarked.set(ref, due);
  }

  /** Writes the due marks that failed before; those that fail again stay for the next tick. */
  private async retryUnmarked(): Promise<void> {
    const pending = [...this.unmarked];
    this.unmarked.clear();
    this.nextClaimAt.fill(0);
    await Promise.all(
      pending.map(([ref, due]) => this.options.scripts.markDueQueue(ref, due).catch(() => this.keepUnmarked(ref, due))),
    );
  }
}
