/**
 * Coalesces the calls made in one turn of the event loop into one store call per key: many producers
 * sending to one queue cost one script, not one each. A caller's items always travel together (so a
 * batch stays all or nothing); chunks hold at most `maxItems` unless one caller brings more. A caller that
 * may wait lets its items wait up to `lingerMs` for others (the calls of the next turns join them); one
 * that may not has everything pending go after this turn.
 */

interface Waiter<Result> {
  count: number;
  resolve(results: Result[]): void;
  reject(error: unknown): void;
}

interface Chunk<Item, Result> {
  items: Item[];
  waiters: Waiter<Result>[];
}

export type FlushChunk<Item, Result> = (key: string, items: Item[]) => Promise<Result[]>;

export class TickBatcher<Item, Result> {
  private pending = new Map<string, Chunk<Item, Result>[]>();
  private scheduled = false;
  /** The timer of a linger, while only callers that may wait are pending (none once a flush is scheduled). */
  private lingering: NodeJS.Timeout | undefined;

  constructor(
    private readonly flushChunk: FlushChunk<Item, Result>,
    private readonly maxItems: number,
    /** How long items whose caller may wait wait at most. @default 0: none waits */
    private readonly lingerMs = 0,
  ) {}

  /** Resolves with one result per item, in order. */
  add(key: string, items: Item[], mayWait = false): Promise<Result[]> {
    return new Promise((resolve, reject) => {
      let chunks = this.pending.get(key);
      if (!chunks) {
        chunks = [];
        this.pending.set(key, chunks);
      }
      let chunk = chunks.at(-1);
      if (!chunk || (chunk.items.length > 0 && chunk.items.length + items.length > this.maxItems)) {
        chunk = { items: [], waiters: [] };
        chunks.push(chunk);
      }
      chunk.items.push(...items);
      chunk.waiters.push({ count: items.length, resolve, reject });
      if (this.scheduled) return;
      if (mayWait && this.lingerMs > 0) {
        this.lingering ??= setTimeout(() => this.flush(), this.lingerMs);
      } else {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    clearTimeout(this.lingering);
    this.lingering = undefined;
    for (const [key, chunks] of pending) for (const chunk of chunks) void this.flushOne(key, chunk);
  }

  private async flushOne(key: string, chunk: Chunk<Item, Result>): Promise<void> {
    try {
      const results = await this.flushChunk(key, chunk.items);
      let offset = 0;
      for (const waiter of chunk.waiters) {
        waiter.resolve(results.slice(offset, offset + waiter.count));
        offset += waiter.count;
      }
    } catch (error) {
      for (const waiter of chunk.waiters) waiter.reject(error);
    }
  }
}
