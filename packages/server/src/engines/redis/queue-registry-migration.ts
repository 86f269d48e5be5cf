/**
 * The one-time migration to the queue registry (docs/deployment.md, "Upgrading to the queue registry"):
 * queues made before the registry existed were never registered, so the queue list would not show them.
 * At start, while the marker key `queueRegistryBuilt` is absent, a node takes the migration's lease,
 * walks the keyspace with SCAN in the background (`SCAN_COUNT` keys per call and `PAUSE_MS` between
 * calls, so it never holds Redis for long), registers every queue that holds messages or has consumers,
 * and sets the marker; no node scans again.
 * Invariants: one node at a time runs it (the lease, a key with a TTL renewed at every step); a node that
 * dies mid-way leaves the lease to expire, and another node (checking every `LEASE_MS`) starts over,
 * which is safe since registering is idempotent. What it does not do: know when a queue was last sent
 * to before the registry existed (a queue drained before the upgrade is listed from its next send on).
 */
import type { FastifyBaseLogger } from "fastify";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./redis-clients.js";
import type { RedisQueueRegistry } from "./redis-queue-registry.js";

/** Keys Redis looks at per SCAN call: a short call that never stalls other clients. */
const SCAN_COUNT = 1000;
/** Pause between two SCAN calls: at most ~50 short calls a second, whatever the keyspace. */
const PAUSE_MS = 20;
/** How long the lease lasts unless renewed, and how often a node that waits for it checks again. */
const LEASE_MS = 30_000;
/** How often a node whose Redis is not ready yet looks again. */
const NOT_READY_RETRY_MS = 1000;
/** How long a node waits after a failed step (Redis went away) before it starts over. */
const FAILURE_RETRY_MS = 5000;

export interface QueueRegistryMigrationOptions {
  redis: RedisClient;
  keys: RedisKeys;
  queueRegistry: RedisQueueRegistry;
  nodeId: string;
  logger: FastifyBaseLogger;
  /** Whether this Redis may hold queues made before the registry (false: nothing to build). */
  needed: boolean;
}

export class QueueRegistryMigration {
  private running: Promise<void> | undefined;
  private closed = false;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: QueueRegistryMigrationOptions) {}

  /** Starts the migration in the background, unless the registry is built already. */
  start(): void {
    if (!this.options.needed) return;
    this.running ??= this.run();
  }

  /** Stops at the next step (the lease then expires, and another node finishes). */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const { redis, keys, logger } = this.options;
    while (!this.closed) {
      let wait = NOT_READY_RETRY_MS;
      try {
        if (redis.status === "ready") {
          if ((await redis.exists(keys.queueRegistryBuilt())) === 1) return;
          if (await this.takeLease()) {
            await this.registerExistingQueues();
            return;
          }
          wait = LEASE_MS;
        }
      } catch (error) {
        logger.warn({ err: error }, "the queue registry's migration failed; it will try again");
        wait = FAILURE_RETRY_MS;
      }
      await this.pause(wait);
    }
  }

  /** Takes the lease, or finds it already ours (a failed run of this node left it). */
  private async takeLease(): Promise<boolean> {
    const { redis, keys, nodeId } = this.options;
    const lease = keys.queueRegistryMigrationLease();
    if ((await redis.set(lease, nodeId, "PX", LEASE_MS, "NX")) === "OK") return true;
    return (await redis.get(lease)) === nodeId;
  }

  private async registerExistingQueues(): Promise<void> {
    const { redis, keys, queueRegistry, logger } = this.options;
    logger.info("building the queue registry from the queues made before it (a paced SCAN, once per Redis)");
    const started = performance.now();
    let cursor = "0";
    let registered = 0;
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", keys.queueKeysPattern(), "COUNT", SCAN_COUNT);
      cursor = next;
      const byNamespace = new Map<string, Set<string>>();
      for (const key of found) {
        const address = keys.queueOfKey(key);
        if (!address) continue;
        const queues = byNamespace.get(address.namespace) ?? new Set<string>();
        queues.add(address.queue);
        byNamespace.set(address.namespace, queues);
      }
      await Promise.all(
        [...byNamespace].map(([namespace, queues]) => queueRegistry.registerExisting(namespace, [...queues])),
      );
      for (const queues of byNamespace.values()) registered += queues.size;
      await redis.pexpire(keys.queueRegistryMigrationLease(), LEASE_MS);
      if (this.closed) return;
      await this.pause(PAUSE_MS);
    } while (cursor !== "0" && !this.closed);
    if (this.closed) return;
    await redis.set(keys.queueRegistryBuilt(), String(Date.now()));
    await redis.del(keys.queueRegistryMigrationLease());
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    logger.info({ registered, seconds }, "the queue registry is built");
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
