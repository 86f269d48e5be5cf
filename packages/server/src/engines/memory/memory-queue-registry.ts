/**
 * The queue registry in this process's memory (queue-registry.ts for its guarantees), for the memory
 * engine: per namespace, its queue names in a sorted array (a page is a binary search and a slice; a new
 * name costs one insertion) and each name's last send and last registration, by the engine's clock.
 * `record` is the synchronous form of `register`, for the engine's own calls.
 */
import type { QueueAddress } from "../queue-engine.js";
import { FORGET_GRACE_MS, type QueueRegistry, type RegistryPage } from "../queue-registry.js";

interface Registration {
  /** When a send last registered it (ms); undefined: none. */
  sentAt: number | undefined;
  /** When it was last registered, for any reason (ms). */
  seenAt: number;
}

interface NamespaceRegistry {
  /** Every name of `registrations`, sorted by code unit (the order of Redis's ZRANGEBYLEX for these names). */
  names: string[];
  readonly registrations: Map<string, Registration>;
}

export class MemoryQueueRegistry implements QueueRegistry {
  private readonly byNamespace = new Map<string, NamespaceRegistry>();

  /** @param now the clock of the registry's times (ms since the epoch). */
  constructor(private readonly now: () => number) {}

  record(address: QueueAddress, sent: boolean): void {
    const now = this.now();
    let registry = this.byNamespace.get(address.namespace);
    if (!registry) {
      registry = { names: [], registrations: new Map() };
      this.byNamespace.set(address.namespace, registry);
    }
    const known = registry.registrations.get(address.queue);
    if (known) {
      known.seenAt = now;
      if (sent) known.sentAt = now;
      return;
    }
    registry.registrations.set(address.queue, { sentAt: sent ? now : undefined, seenAt: now });
    registry.names.splice(firstAfter(registry.names, address.queue), 0, address.queue);
  }

  async register(address: QueueAddress, sent: boolean): Promise<void> {
    this.record(address, sent);
  }

  async namespaces(): Promise<string[]> {
    return [...this.byNamespace.keys()];
  }

  async page(namespace: string, after: string | undefined, limit: number): Promise<RegistryPage> {
    const now = this.now();
    const registry = this.byNamespace.get(namespace);
    if (!registry) return { queues: [], now };
    const start = after === undefined ? 0 : firstAfter(registry.names, after);
    const queues = registry.names.slice(start, start + limit).map((name) => ({
      name,
      lastSentAt: registry.registrations.get(name)?.sentAt,
    }));
    return { queues, now };
  }

  async forget(namespace: string, queues: string[], sentWindowMs: number): Promise<number> {
    const registry = this.byNamespace.get(namespace);
    if (!registry) return 0;
    const now = this.now();
    const forgotten = new Set<string>();
    for (const name of queues) {
      const registration = registry.registrations.get(name);
      if (!registration) continue;
      const sentRecently = registration.sentAt !== undefined && registration.sentAt > now - sentWindowMs;
      if (sentRecently || registration.seenAt > now - FORGET_GRACE_MS) continue;
      registry.registrations.delete(name);
      forgotten.add(name);
    }
    if (forgotten.size === 0) return 0;
    registry.names = registry.names.filter((name) => !forgotten.has(name));
    if (registry.names.length === 0) this.byNamespace.delete(namespace);
    return forgotten.size;
  }

  /** Forgets everything (the engine closed). */
  clear(): void {
    this.byNamespace.clear();
  }
}

/** The index of the first name greater than `name` in the sorted array (binary search). */
function firstAfter(names: readonly string[], name: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((names[middle] as string) <= name) low = middle + 1;
    else high = middle;
  }
  return low;
}
