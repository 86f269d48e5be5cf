/**
 * The dashboard's rate samples (../rate-samples.ts) of a node with no Redis: kept in the node's memory, by
 * the node's clock, as the Redis scripts keep them in Redis (rate-sample-append.lua), and as bounded: at
 * most `samplesKept` samples, each listing only the queues whose totals changed.
 */

import {
  type QueueGrowth,
  type QueueTotals,
  type RateSample,
  type RateSamples,
  type RateSamplingSettings,
  type SampledHistory,
  type SlotClaim,
  samplesKept,
} from "../rate-samples.js";
import { queueRef } from "../refs.js";

export class MemoryRateSamples implements RateSamples {
  private readonly samples: RateSample[] = [];
  /** The totals of the newest sample, by queue ref. */
  private totals = new Map<string, QueueTotals>();
  private claimedSlotStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly settings: RateSamplingSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async claimSlot(): Promise<SlotClaim | undefined> {
    this.forgetIfStale();
    const at = this.now();
    const slotStart = at - (at % this.settings.intervalMs);
    if (slotStart <= this.claimedSlotStart) return undefined;
    this.claimedSlotStart = slotStart;
    return { slotStart, at };
  }

  /** Reads cost nothing here: every queue is read. */
  noteActive(): void {}

  async takeActive(): Promise<undefined> {
    return undefined;
  }

  async append(claim: SlotClaim, totals: QueueTotals[], partial = false): Promise<boolean> {
    this.forgetIfStale();
    const newest = this.samples.at(-1);
    if (newest !== undefined && claim.at <= newest.at) return false;
    const first = newest === undefined;
    // A partial sample leaves the totals of the queues it does not list as they were.
    const next = partial ? new Map(this.totals) : new Map<string, QueueTotals>();
    const queues: QueueGrowth[] = [];
    let sent = 0;
    let acked = 0;
    for (const current of totals) {
      const ref = queueRef(current.namespace, current.queue);
      next.set(ref, { ...current });
      const before = this.totals.get(ref);
      if (before === undefined) {
        if (!first && (current.sent > 0 || current.acked > 0)) {
          queues.push({ namespace: current.namespace, queue: current.queue, sent: undefined, acked: undefined });
        }
        continue;
      }
      if (before.sent === current.sent && before.acked === current.acked) continue;
      const growth = {
        namespace: current.namespace,
        queue: current.queue,
        sent: grown(before.sent, current.sent),
        acked: grown(before.acked, current.acked),
      };
      sent += growth.sent ?? 0;
      acked += growth.acked ?? 0;
      queues.push(growth);
    }
    this.samples.push({
      at: claim.at,
      sent: first ? undefined : sent,
      acked: first ? undefined : acked,
      queues,
    });
    const kept = samplesKept(this.settings);
    if (this.samples.length > kept) this.samples.splice(0, this.samples.length - kept);
    this.totals = next;
    return true;
  }

  async read(): Promise<SampledHistory> {
    this.forgetIfStale();
    const newest = this.samples.at(-1);
    if (newest === undefined) return { samples: [], totals: undefined };
    return {
      samples: this.samples.map((sample) => ({ ...sample, queues: sample.queues.map((queue) => ({ ...queue })) })),
      totals: { at: newest.at, queues: [...this.totals.values()].map((queue) => ({ ...queue })) },
    };
  }

  /** As Redis's keys expire: `keepMs` after the last sample, everything is forgotten. */
  private forgetIfStale(): void {
    const newest = this.samples.at(-1);
    if (newest === undefined || this.now() - newest.at < this.settings.keepMs) return;
    this.samples.length = 0;
    this.totals = new Map();
  }
}

/** How much a running total grew; undefined when it went down (no count for that step). */
function grown(before: number, after: number): number | undefined {
  return after >= before ? after - before : undefined;
}
