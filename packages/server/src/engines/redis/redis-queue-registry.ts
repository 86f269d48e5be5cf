/**
 * The queue registry on Redis (queue-registry.ts for its guarantees): per namespace a sorted set of queue
 * names, all scored 0 so that ZRANGEBYLEX reads them in name order, and two hashes, name -> last send and
 * name -> last registration, all three under the namespace's own hash tag (keys.ts: `queueRegistryKeys`).
 * Every call is one script in that slot, timed by Redis's clock; a page costs O(log n + page) in Redis.
 */

import type { QueueAddress } from "../queue-engine.js";
import { FORGET_GRACE_MS, type QueueRegistry, type RegistryPage } from "../queue-registry.js";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./redis-clients.js";
import type { Scripts } from "./scripts.js";
import { inStore } from "./store-errors.js";

export class RedisQueueRegistry implements QueueRegistry {
  /** Namespaces this node has added to the cluster's namespace set (once each). */
  private readonly namespacesAdded = new Set<string>();

  constructor(
    private readonly scripts: Scripts,
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async register(address: QueueAddress, sent: boolean): Promise<void> {
    await inStore(this.scripts.queueRegister(address.namespace, [address.queue], sent));
    await this.addNamespace(address.namespace);
  }

  /** Registers several queues of one namespace in one call, as the migration does: none as sent. */
  async registerExisting(namespace: string, queues: string[]): Promise<void> {
    if (queues.length === 0) return;
    await inStore(this.scripts.queueRegister(namespace, queues, false));
    await this.addNamespace(namespace);
  }

  async namespaces(): Promise<string[]> {
    return inStore(this.redis.smembers(this.keys.queueNamespaces()));
  }

  /** The namespace set is its own key (under `{cluster}`): a registry script stays in its namespace's slot. */
  private async addNamespace(namespace: string): Promise<void> {
    if (this.namespacesAdded.has(namespace)) return;
    await inStore(this.redis.sadd(this.keys.queueNamespaces(), namespace));
    this.namespacesAdded.add(namespace);
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
