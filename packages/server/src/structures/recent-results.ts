/**
 * Results computed at most once per `maxAgeMs` per key, however many ask: a result is handed out again
 * until `maxAgeMs` after its computation finished, and those who ask while it runs wait for that same
 * computation (single flight). So a costly read that clients can trigger at will (a scrape, a listing)
 * costs the store at most one computation per key per `maxAgeMs`, plus the one running.
 * A computation that fails is not kept: its askers get the failure, the next one starts again.
 * Memory is bounded: at most `maxKeys` keys are kept; past that, expired entries are dropped, and when
 * all are live a new key is computed for its asker alone.
 */

export interface RecentResultsOptions {
  /** How long a finished result is handed out again (ms). */
  maxAgeMs: number;
  /** Keys kept at once. @default 1000 */
  maxKeys?: number;
  /** The clock (ms; only differences count). @default performance.now */
  now?: () => number;
}

interface Entry<Value> {
  result: Promise<Value>;
  /** When the computation finished; undefined while it runs. */
  finishedAt: number | undefined;
}

const DEFAULT_MAX_KEYS = 1000;

export class RecentResults<Value> {
  private readonly entries = new Map<string, Entry<Value>>();
  private readonly maxAgeMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: RecentResultsOptions) {
    if (!(options.maxAgeMs >= 0)) {
      throw new Error(`maxAgeMs must be a number of milliseconds ≥ 0, got ${options.maxAgeMs}`);
    }
    this.maxAgeMs = options.maxAgeMs;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The result of `compute` for this key: a recent one, the one running, or a new one. */
  get(key: string, compute: () => Promise<Value>): Promise<Value> {
    const known = this.entries.get(key);
    if (known && this.isLive(known)) return known.result;
    if (known) this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) this.dropExpired();
    const entry: Entry<Value> = { result: Promise.resolve().then(compute), finishedAt: undefined };
    if (this.entries.size >= this.maxKeys) return entry.result;
    this.entries.set(key, entry);
    entry.result.then(
      () => {
        entry.finishedAt = this.now();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.result;
  }

  private isLive(entry: Entry<Value>): boolean {
    return entry.finishedAt === undefined || this.now() - entry.finishedAt < this.maxAgeMs;
  }

  private dropExpired(): void {
    for (const [key, entry] of this.entries) if (!this.isLive(entry)) this.entries.delete(key);
  }
}
