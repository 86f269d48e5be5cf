/**
 * Latency samples of one run, in milliseconds, and their percentiles (nearest-rank on the sorted
 * samples: exact, since a run holds at most a few hundred thousand).
 */

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private count = 0;

  constructor(expected: number) {
    this.samples = new Float64Array(Math.max(16, expected));
  }

  record(milliseconds: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count] = milliseconds;
    this.count += 1;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.count).sort();
    const rank = (fraction: number) => {
      if (sorted.length === 0) return null;
      const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
      return round(sorted[Math.max(0, index)] ?? 0);
    };
    return { count: this.count, p50Ms: rank(0.5), p99Ms: rank(0.99), maxMs: rank(1) };
  }
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}
