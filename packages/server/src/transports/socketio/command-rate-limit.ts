/**
 * A per-connection command rate limit: a token bucket refilled at `perSecond`, holding at most one
 * second's worth. A command that finds it empty is answered `RATE_LIMITED` and not run.
 */

export class CommandRateLimit {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Takes one token; false when there is none left. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
