/**
 * Takes the dashboard's rate samples (engines/rate-samples.ts): every node asks for the current slot once
 * per interval, halfway through the slot by its own clock (so a clock a little off Redis's still asks once
 * per slot), and only the node that gets the slot reads the queues' totals and stores the sample: those of
 * the queues sent to or acked from since the last sample, where the store collects them (Redis), else every
 * queue of the list, as the snapshot reads it. So the cluster reads its totals once per interval, however
 * many nodes run, an idle queue costs no read, and an idle cluster's sample is a few bytes.
 *
 * It never throws and never stops: a failure (the store away, a slow read) is logged, a warning for the
 * first of a run and a debug line for the others, and the next interval tries again. One sample runs at a
 * time: a tick that finds the previous one still running is skipped.
 */
import type { FastifyBaseLogger } from "fastify";
import type { QueueAddress } from "../engines/queue-engine.js";
import type { QueueTotals, RateSamples } from "../engines/rate-samples.js";

export interface RateSamplerOptions {
  samples: Pick<RateSamples, "claimSlot" | "append" | "takeActive">;
  /** Reads the running totals of these queues, or of every listed queue. */
  totals: (only?: QueueAddress[]) => Promise<QueueTotals[]>;
  /** How often the cluster takes a sample (ms). */
  intervalMs: number;
  logger: Pick<FastifyBaseLogger, "warn" | "info" | "debug">;
}

export class RateSampler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private closed = false;

  constructor(private readonly options: RateSamplerOptions) {}

  start(): void {
    this.schedule();
  }

  /** Stops the ticks and waits for the sample being taken, if any. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Takes the current slot's sample if no node did; resolves either way, never rejects. */
  sampleNow(): Promise<void> {
    this.running ??= this.sample().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        void this.sampleNow();
        this.schedule();
      },
      untilMidSlot(Date.now(), this.options.intervalMs),
    );
    this.timer.unref();
  }

  private async sample(): Promise<void> {
    const { samples, totals, logger } = this.options;
    try {
      const claim = await samples.claimSlot();
      if (claim !== undefined) {
        const active = await samples.takeActive();
        await samples.append(claim, await totals(active), active !== undefined);
      }
      if (this.failing) logger.info("dashboard rate samples: taken again");
      this.failing = false;
    } catch (error) {
      const message = "dashboard rate samples: could not take this one; trying again at the next interval";
      if (this.failing) logger.debug({ err: error }, message);
      else logger.warn({ err: error }, message);
      this.failing = true;
    }
  }
}

/** Ms from `now` to the next middle of a slot of `intervalMs` (never 0: a tick does not repeat its slot). */
export function untilMidSlot(now: number, intervalMs: number): number {
  const half = Math.floor(intervalMs / 2);
  return (half - (now % intervalMs) + intervalMs) % intervalMs || intervalMs;
}
