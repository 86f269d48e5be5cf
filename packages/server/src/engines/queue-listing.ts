/**
 * The queue list of docs/protocol.md §13, the same for every engine: walks the namespace's queue registry in
 * name order a page at a time; reads the page's stats and consumer counts at once (one pipeline on
 * Redis); lists the queues that hold messages (ready, in flight or delayed), have consumers, or were sent
 * to within `SENT_WINDOW_MS`; asks the registry to forget the page's other queues; and stops once
 * `MAX_LISTED_QUEUES` are listed and one more is found (`truncated`).
 * Cost: one registry read, one stats read per queue and one consumer read per page, for the queues walked
 * (those listed, and those forgotten on the way), whatever else the store holds. It caches nothing: the
 * route shares one listing among the requests of the same second.
 */
import type { ConsumerCounts, EngineStats, ListedQueue, QueueAddress, QueueListing } from "./queue-engine.js";
import { type QueueRegistry, SENT_WINDOW_MS } from "./queue-registry.js";

/** At most this many queues are listed, the first by name (docs/protocol.md §13). */
export const MAX_LISTED_QUEUES = 1000;
/** Queues read per step: their stats travel in one pipeline, without one huge reply. */
const PAGE_SIZE = 100;

export interface ListingSources {
  registry: QueueRegistry;
  stats(address: QueueAddress): Promise<EngineStats>;
  consumers: ConsumerCounts;
}

export async function listRegisteredQueues(sources: ListingSources, namespace: string): Promise<QueueListing> {
  const { registry } = sources;
  const queues: ListedQueue[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await registry.page(namespace, after, PAGE_SIZE);
    if (page.queues.length === 0) return { queues, truncated: false };
    const names = page.queues.map((queue) => queue.name);
    const [stats, consumers] = await Promise.all([
      Promise.all(names.map((queue) => sources.stats({ namespace, queue }))),
      sources.consumers(namespace, names),
    ]);
    const idle: string[] = [];
    let truncated = false;
    for (const [index, { name, lastSentAt }] of page.queues.entries()) {
      const { ready, inflight, delayed, deadLettered, groups, sent, acked } = stats[index] as EngineStats;
      const consumerCount = consumers[index] ?? 0;
      const sentRecently = lastSentAt !== undefined && lastSentAt > page.now - SENT_WINDOW_MS;
      if (ready + inflight + delayed === 0 && consumerCount === 0 && !sentRecently) {
        idle.push(name);
      } else if (queues.length === MAX_LISTED_QUEUES) {
        truncated = true;
        break;
      } else {
        queues.push({ name, ready, inflight, delayed, deadLettered, consumers: consumerCount, groups, sent, acked });
      }
    }
    await registry.forget(namespace, idle, SENT_WINDOW_MS);
    if (truncated || page.queues.length < PAGE_SIZE) return { queues, truncated };
    after = names[names.length - 1];
  }
}
