/**
 * The version of the layout of Mailroom's data in Redis, kept in one key, so that a node knows what it
 * finds and an upgrade can convert it online while nodes of both versions run (a rolling upgrade).
 * - Layout 1 (no key): the first releases. The due-time index is one for the whole cluster, under the
 *   `{schedule}` hash tag.
 * - Layout 2: the due-time index is split into partitions spread over a cluster's slots
 *   (due-partitions.ts); on a Redis Cluster, wake-ups are sharded channels under the queue's hash tag.
 * - Layout 3: message groups and priorities (docs/protocol.md §11, queue-lanes.lua): a queue may have
 *   lanes, groups and rotations beside its ready list; an entry may carry its group and priority after its
 *   reason; a grouped message's receipt names its group. A plain message is stored as in layout 2, so
 *   there is nothing to convert; but a node of layout 2 would misread a grouped one (its lease's end, its
 *   ack). So nodes of layout 3 write their layout into their node record at each heartbeat, Redis moves
 *   from 2 to 3 only once every live node reads 3 (layout-upgrade.lua), and until then groups and
 *   priorities are refused `UNAVAILABLE` (`allowsGroups`). A node of layout 2 started after that finds a
 *   newer layout and is not ready. Later releases added to layout 3 what earlier nodes of it can ignore:
 *   the "|g" mark of standing credits (grouped pushes) and a queue's `group-priorities` key (queue-lanes.lua;
 *   how a rolling upgrade meets each is in docs/deployment.md).
 * A node writes its version when it finds none. While layout 1's due index holds entries (a
 * node of the previous release may still mark it during the upgrade), nodes sweep it too: `legacyDueIndex`.
 * A node that finds a layout newer than its own is not ready (its `problem`) and says so in the log: it
 * would misread the data.
 */
import type { FastifyBaseLogger } from "fastify";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./redis-clients.js";
import type { Scripts } from "./scripts.js";

/** The layout this node reads and writes. */
export const LAYOUT_VERSION = 3;
/** The first layout with message groups and priorities. */
const GROUPS_LAYOUT = 3;
/** How often a node looks whether layout 1's due index still holds entries, and whether every node reads its layout. */
const LEGACY_CHECK_MS = 5000;

export interface RedisLayoutOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: FastifyBaseLogger;
  /** Whether layout 1 can exist in this Redis (not on a Redis Cluster: no release before layout 2 ran there). */
  mayHoldLayout1: boolean;
  scripts: Scripts;
  /** A node silent this long is not live (its layout no longer holds the upgrade back). */
  nodeTimeoutMs: number;
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
    this.timer = setInterval(() => {
      void this.checkLegacyIndex();
      void this.upgrade();
    }, LEGACY_CHECK_MS);
    this.timer.unref();
  }

  /** Whether message groups and priorities may be stored: every node reads layout 3 (see the header). */
  allowsGroups(): boolean {
    return this.storedVersion !== undefined && this.storedVersion >= GROUPS_LAYOUT;
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
      await this.upgrade();
    } catch (error) {
      logger.debug({ err: error }, "could not read the layout version; reading it again when Redis is back");
    }
  }

  /** Moves the stored layout to this node's once every live node reads it; nothing once it is there. */
  private async upgrade(): Promise<void> {
    if (this.storedVersion === undefined || this.storedVersion >= LAYOUT_VERSION) return;
    const { scripts, nodeTimeoutMs, logger } = this.options;
    try {
      const before = this.storedVersion;
      this.storedVersion = await scripts.layoutUpgrade(nodeTimeoutMs, LAYOUT_VERSION);
      if (this.storedVersion > before) {
        logger.info({ layout: this.storedVersion }, "every live node reads the new layout of the data: it is in use");
      }
    } catch {
      // Redis is away: looked at again at the next check.
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
