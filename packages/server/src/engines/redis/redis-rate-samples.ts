/**
 * The dashboard's rate samples (../rate-samples.ts) in Redis, one set for the cluster under the node's key
 * prefix (keys.ts `rateSampleKeys`): a claim per slot by Redis's clock (rate-sample-claim.lua), and a sample
 * stored by the claimer only, compared with the previous one's totals inside Redis (rate-sample-append.lua),
 * so each sample lists only the queues whose totals changed. The samples list is capped (LTRIM) and every
 * key expires `keepMs` after the last sample.
 */
import {
  type QueueTotals,
  type RateSamples,
  type RateSamplingSettings,
  type SampledHistory,
  type SlotClaim,
  samplesKept,
} from "../rate-samples.js";
import type { Scripts } from "./scripts.js";

export class RedisRateSamples implements RateSamples {
  constructor(
    private readonly scripts: Scripts,
    private readonly settings: RateSamplingSettings,
  ) {}

  claimSlot(): Promise<SlotClaim | undefined> {
    return this.scripts.rateSampleClaim(this.settings.intervalMs, this.settings.keepMs);
  }

  append(claim: SlotClaim, totals: QueueTotals[]): Promise<boolean> {
    return this.scripts.rateSampleAppend(claim.at, samplesKept(this.settings), this.settings.keepMs, totals);
  }

  read(): Promise<SampledHistory> {
    return this.scripts.rateSamplesRead();
  }
}
