/**
 * The samples behind the dashboard's rates over the last 15 minutes (docs/protocol.md §12): every
 * `intervalMs`, the queues' running totals `sent` and `acked` (cluster-wide, kept by the queues' own
 * scripts) are compared with the previous sample's, and what grew is kept. One interface, a Redis and a
 * memory implementation.
 *
 * Guarantees of every implementation:
 * - One sample per slot of `intervalMs` (slot k is [k·interval, (k+1)·interval) of the store's clock) for
 *   the whole cluster, however many nodes sample: `claimSlot` gives a slot to its first caller only, and
 *   `append` stores nothing for a claim no newer than the newest sample stored.
 * - A sample lists only the queues whose totals changed since the previous sample, with how much they grew.
 *   A queue new to the samples (or every queue, in the first sample) or a total that went down (a store that
 *   lost its data) has no count for that step (`undefined`): never a negative one, never a lifetime's total
 *   as one step.
 * - At most `keepMs / intervalMs` samples are kept, the oldest dropped first; the last totals are kept for
 *   the queues of the last sample only. All of it is forgotten `keepMs` after the last sample, so a cluster
 *   that stops sampling leaves nothing behind.
 * - Which queues to read (`noteActive`, `takeActive`): a store whose reads cost (Redis) collects, across
 *   the cluster, the queues that were sent to or acked from since the last sample, and the sample reads
 *   those only (`partial`): an idle queue costs nothing, however many there are. A queue left out of a
 *   partial sample keeps its totals. The memory engine reads every queue (`takeActive` is undefined).
 * What it does not do: read the totals (operations/rate-sampler.ts does, from the queue list), or time the
 * samples.
 */
import type { QueueAddress } from "./queue-engine.js";

/** A queue's running totals, as the queue list reads them. */
export interface QueueTotals {
  namespace: string;
  queue: string;
  sent: number;
  acked: number;
}

/** How much a queue's totals grew in one sample's interval; undefined: no count for that step. */
export interface QueueGrowth {
  namespace: string;
  queue: string;
  sent: number | undefined;
  acked: number | undefined;
}

export interface RateSample {
  /** When the slot was claimed (ms since the epoch, the store's clock). */
  at: number;
  /** Messages sent (acked) to every queue sampled since the previous sample; undefined in the first one. */
  sent: number | undefined;
  acked: number | undefined;
  /** The queues whose totals changed since the previous sample. */
  queues: QueueGrowth[];
}

export interface SampledHistory {
  /** Oldest first. */
  samples: RateSample[];
  /** The totals of the newest sample, with its time; undefined when there is no sample. */
  totals: { at: number; queues: QueueTotals[] } | undefined;
}

/** A slot given to one caller: it takes the sample of it. */
export interface SlotClaim {
  /** The slot's start (ms since the epoch, the store's clock). */
  slotStart: number;
  /** When it was claimed (same clock): the sample's time. */
  at: number;
}

export interface RateSamplingSettings {
  /** How often the cluster takes a sample (ms). @default 10000 */
  intervalMs: number;
  /** How long samples are kept (ms). @default 900000 (15 minutes) */
  keepMs: number;
}

/** 15 minutes: what the dashboard's charts show (docs/protocol.md §12). */
export const RATE_HISTORY_MS = 15 * 60_000;
export const DEFAULT_SAMPLE_INTERVAL_MS = 10_000;
export const DEFAULT_RATE_SAMPLING: RateSamplingSettings = {
  intervalMs: DEFAULT_SAMPLE_INTERVAL_MS,
  keepMs: RATE_HISTORY_MS,
};

/** How many samples a store keeps at most. */
export function samplesKept(settings: RateSamplingSettings): number {
  return Math.max(1, Math.ceil(settings.keepMs / settings.intervalMs));
}

export interface RateSamples {
  /** The current slot, if no caller claimed it before; undefined otherwise. */
  claimSlot(): Promise<SlotClaim | undefined>;
  /**
   * Stores the sample of a claimed slot from these totals (every queue listed now, or with `partial` those of
   * `takeActive` only); returns whether it was stored (not when a later slot's sample was stored first: a
   * slow sampler's turn passed).
   */
  append(claim: SlotClaim, totals: QueueTotals[], partial?: boolean): Promise<boolean>;
  /** Notes that this node sent to or acked from the queue: told to the cluster at this node's next claim. */
  noteActive(address: QueueAddress): void;
  /**
   * The queues noted active across the cluster since the last call, each once (for the claimer of a slot);
   * undefined: read every queue.
   */
  takeActive(): Promise<QueueAddress[] | undefined>;
  read(): Promise<SampledHistory>;
}
