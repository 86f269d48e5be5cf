/**
 * The version of the layout of Mailroom's data in Redis, kept in one key, so that a node knows what it
 * finds and an upgrade can convert it online while nodes of both versions run (a rolling upgrade).
 * - Layout 1 (no key): the first releases. The due-time index is one for the whole cluster, under the
 *   `{schedule}` hash tag.
 * - Layout 2: the due-time index is split into partitions spread over a cluster's slots
 *   (due-partitions.ts); on a Redis Cluster, wake-ups are sharded channels under the queue's hash tag.
 * A node of layout 2 writes its version when it finds none. While layout 1's due index holds entries (a
 * node of the previous release may still mark it during the upgrade), nodes sweep it too: `legacyDueIndex`.
 * A node that finds a layout newer than its own is not ready (its `problem`) and says so in the log: it
 * would misread the data.
 */
import type { FastifyBaseLogger } from "fastify";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./redis-clients.js";

/** The layout this node reads and writes. */
export const LAYOUT_VERSION = 2;
/** How often a node looks whether layout 1's due index still holds entries. */
const LEGACY_CHECK_MS = 5000;

export interface RedisLayoutOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: FastifyBaseLogger;
  /** Whether layout 1 can exist in this Redis (not on a Redis Cluster: no release before layout 2 ran there). */
  mayHoldLayout1: boolean;
}

export class RedisLayout {
  private storedVersion: number | undefined;
  private legacyInUse: boolean;
  /** A check found entries in layout 1's index (an upgrade is under way). */
  private legacyFound = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisLayoutOptions) {
    this.legacyInUse = options.mayHoldLayout1;
  }

  start(): void {
    if (!this.options.mayHoldLayout1) return;
    this.timer = setInterval(() => void this.checkLegacyIndex(), LEGACY_CHECK_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Why this node must not serve this Redis, if it must not. */
  problem(): string | undefined {
    if (this.storedVersion === undefined || this.storedVersion <= LAYOUT_VERSION) return undefined;
    return `Redis holds Mailroom's data in layout ${this.storedVersion}, newer than this node's ${LAYOUT_VERSION}: upgrade this node`;
  }

  /** Whether layout 1's due index may still hold entries for the sweeps. */
  legacyDueIndex(): boolean {
    return this.legacyInUse;
  }

  /** Reads the stored version (writing this node's when there is none); called each time Redis is ready. */
  async check(): Promise<void> {
    const { redis, keys, logger } = this.options;
    try {
      await redis.set(keys.layout(), String(LAYOUT_VERSION), "NX");
      const stored = Number(await redis.get(keys.layout()));
      this.storedVersion = stored;
      if (stored > LAYOUT_VERSION) logger.error({ layout: stored, ownLayout: LAYOUT_VERSION }, this.problem());
      await this.checkLegacyIndex();
    } catch (error) {
      logger.debug({ err: error }, "could not read the layout version; reading it again when Redis is back");
    }
  }

  private async checkLegacyIndex(): Promise<void> {
    if (!this.options.mayHoldLayout1) return;
    try {
      const found = await this.options.redis.exists(...this.options.keys.legacyDueKeys());
      if (this.legacyFound && found === 0) this.options.logger.info("layout 1's due index is empty: no longer swept");
      this.legacyFound = found > 0;
      this.legacyInUse = found > 0;
    } catch {
      // Redis is away: keep sweeping it as before.
    }
  }
}
