/**
 * The dashboard's rate samples (../rate-samples.ts) in Redis, one set for the cluster under the node's key
 * prefix (keys.ts `rateSampleKeys`): a claim per slot by Redis's clock (rate-sample-claim.lua), and a sample
 * stored by the claimer only, compared with the previous one's totals inside Redis (rate-sample-append.lua),
 * so each sample lists only the queues whose totals changed. The samples list is capped (LTRIM) and every
 * key expires `keepMs` after the last sample. Only the queues sent to or acked from since the last sample
 * are read: each node notes its own, adds them to a set at its claim (one SADD, none when idle), and the
 * claimer pops the set (keys.ts `rateSampleActive`).
 */
import type { QueueAddress } from "../queue-engine.js";
import {
  type QueueTotals,
  type RateSamples,
  type RateSamplingSettings,
  type SampledHistory,
  type SlotClaim,
  samplesKept,
} from "../rate-samples.js";
import type { Scripts } from "./scripts.js";

/** The most queues one sample reads: the rest stay in the set for the next one. */
const MAX_ACTIVE_PER_SAMPLE = 10_000;

export class RedisRateSamples implements RateSamples {
  constructor(
    private readonly scripts: Scripts,
    private readonly settings: RateSamplingSettings,
  ) {}

  /** Queues this node sent to or acked from since its last claim, '<namespace> <queue>'. */
  private active = new Set<string>();

  async claimSlot(): Promise<SlotClaim | undefined> {
    if (this.active.size > 0) {
      const noted = [...this.active];
      this.active = new Set();
      await this.scripts.rateSampleNoteActive(noted, this.settings.keepMs).catch((error: unknown) => {
        for (const queue of noted) this.active.add(queue);
        throw error;
      });
    }
    return this.scripts.rateSampleClaim(this.settings.intervalMs, this.settings.keepMs);
  }

  append(claim: SlotClaim, totals: QueueTotals[], partial = false): Promise<boolean> {
    return this.scripts.rateSampleAppend(claim.at, samplesKept(this.settings), this.settings.keepMs, totals, partial);
  }

  noteActive(address: QueueAddress): void {
    this.active.add(`${address.namespace} ${address.queue}`);
  }

  async takeActive(): Promise<QueueAddress[]> {
    const taken = await this.scripts.rateSampleTakeActive(MAX_ACTIVE_PER_SAMPLE);
    return taken.map((entry) => {
      const space = entry.indexOf(" ");
      return { namespace: entry.slice(0, space), queue: entry.slice(space + 1) };
    });
  }

  read(): Promise<SampledHistory> {
    return this.scripts.rateSamplesRead();
  }
}
