/**
 * Noticing a Redis that lost its data. The cluster keeps one epoch key: a random value that the first
 * node writes (SET NX) and every node remembers. A Redis restarted without persistence, restored from an
 * old snapshot, failed over to an empty replica or flushed comes back without that key (or with one that
 * another node wrote again after noticing first), so a node that finds the key missing or changed knows
 * that Redis lost data it had accepted: it logs an error, counts the event (for `/readyz` and metrics),
 * and writes the epoch again, so the next loss is noticed too. It never carries on silently.
 *
 * Checked on every (re)connection of the command connection and at each heartbeat interval. It cannot see
 * a loss of some keys only (an AOF `everysec` window losing its last second keeps the epoch), nor a loss
 * that happened before this node first read the epoch.
 */
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { DataLossRecord } from "../node-store.js";
import type { RedisClient } from "./redis-clients.js";

/** Random bytes of an epoch: enough that two nodes never choose the same one. */
const EPOCH_BYTES = 8;

export interface RedisEpochOptions {
  redis: RedisClient;
  /** The epoch key (see RedisKeys.epoch). */
  key: string;
  /** How often the epoch is checked besides at each (re)connection, in ms. */
  intervalMs: number;
  logger: FastifyBaseLogger;
}

export class RedisEpoch {
  /** The epoch this node saw last; undefined before its first successful check. */
  private known: string | undefined;
  private detected = 0;
  private lastDetectedAt: number | undefined;
  private checking = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisEpochOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** What this node has noticed so far. */
  dataLoss(): DataLossRecord {
    return this.lastDetectedAt === undefined
      ? { detected: this.detected }
      : { detected: this.detected, lastDetectedAt: this.lastDetectedAt };
  }

  /** Reads the epoch (writing it when missing); counts a loss when it is not the one seen before. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const { redis, key, logger } = this.options;
    try {
      const candidate = randomBytes(EPOCH_BYTES).toString("hex");
      const [wrote, current] = await Promise.all([redis.set(key, candidate, "NX"), redis.get(key)]);
      if (current === null) return;
      const previous = this.known;
      this.known = current;
      if (previous === undefined || previous === current) return;
      this.detected += 1;
      this.lastDetectedAt = Date.now();
      logger.error(
        { previousEpoch: previous, epoch: current, detected: this.detected },
        `REDIS LOST ITS DATA: the cluster's epoch ${previous} is ${wrote === "OK" ? "gone" : "replaced"}, so ` +
          "Redis restarted empty, was restored from an older copy, failed over or was flushed. Messages it had " +
          "accepted may be lost. Run Redis with appendonly yes (appendfsync always to lose nothing).",
      );
    } catch (error) {
      logger.debug({ err: error }, "could not check the cluster's epoch; checking again later");
    } finally {
      this.checking = false;
    }
  }
}
