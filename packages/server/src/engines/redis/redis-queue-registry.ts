/**
 * The queue registry on Redis (queue-registry.ts for its guarantees): per namespace a sorted set of queue
 * names, all scored 0 so that ZRANGEBYLEX reads them in name order, and two hashes, name -> last send and
 * name -> last registration, all three under the namespace's own hash tag (keys.ts: `queueRegistryKeys`).
 * Every call is one script in that slot, timed by Redis's clock; a page costs O(log n + page) in Redis.
 */

import type { QueueAddress } from "../queue-engine.js";
import { FORGET_GRACE_MS, type QueueRegistry, type RegistryPage } from "../queue-registry.js";
import type { Scripts } from "./scripts.js";
import { inStore } from "./store-errors.js";

export class RedisQueueRegistry implements QueueRegistry {
  constructor(private readonly scripts: Scripts) {}

  async register(address: QueueAddress, sent: boolean): Promise<void> {
    await inStore(this.scripts.queueRegister(address.namespace, [address.queue], sent));
  }

  /** Registers several queues of one namespace in one call, as the migration does: none as sent. */
  async registerExisting(namespace: string, queues: string[]): Promise<void> {
    if (queues.length > 0) await inStore(this.scripts.queueRegister(namespace, queues, false));
  }

  async page(namespace: string, after: string | undefined, limit: number): Promise<RegistryPage> {
    const reply = await inStore(this.scripts.queueRegistryPage(namespace, after ?? "", limit));
    return {
      now: reply.now,
      queues: reply.queues.map(({ name, lastSentAt }) => ({
        name,
        lastSentAt: lastSentAt > 0 ? lastSentAt : undefined,
      })),
    };
  }

  async forget(namespace: string, queues: string[], sentWindowMs: number): Promise<number> {
    if (queues.length === 0) return 0;
    return inStore(this.scripts.queueRegistryForget(namespace, queues, sentWindowMs, FORGET_GRACE_MS));
  }
}
