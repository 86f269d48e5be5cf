/**
 * The queue registry behind the queue list (docs/protocol.md §13): per namespace, the names of its queues in
 * name order, each with when a send last registered it and when it was last registered at all. A queue is
 * registered when it is sent to, consumed, dead-lettered into or redriven into; a listing
 * (queue-listing.ts) walks the registry, keeps the queues that hold messages, have consumers or were sent
 * to within `SENT_WINDOW_MS`, and asks the registry to forget the others. So listing a namespace costs in
 * the number of its queues, never in the number of keys in the store.
 *
 * Guarantees of every implementation:
 * - `register` is idempotent, and its times are the store's clock (Redis's `TIME` on Redis).
 * - `forget` removes a queue only when, by the store's clock as it runs, the queue was neither sent to
 *   within the window nor registered within `FORGET_GRACE_MS`. A registration that races a listing is so
 *   never lost: one that lands after the forget adds the queue again, one that lands before is recent.
 * What it does not know: whether a queue holds messages or has consumers (the listing asks the engine and
 * the cluster registry), nor how often a node registers (queue-registrations.ts, for Redis).
 */
import type { QueueAddress } from "./queue-engine.js";

/** A queue sent to within this window is listed even when it holds nothing (docs/protocol.md §13: 24 hours). */
export const SENT_WINDOW_MS = 24 * 60 * 60 * 1000;
/**
 * A node registers each queue at most once per this interval for each reason (sent, or anything else), so
 * a send costs a map lookup, not a store call; the registry's "last send" is so at most this much older
 * than the real one.
 */
export const REGISTRATION_INTERVAL_MS = 60_000;
/** A queue a node consumes is registered again this often, so the registry never forgets it meanwhile. */
export const WATCHED_REFRESH_MS = 5 * 60_000;
/**
 * A queue registered this recently is never forgotten. Longer than a watched queue's refresh plus the
 * registration interval, so a queue that a node consumes, or sent to or dead-lettered into without
 * registering again (its registration is recent), is always still registered.
 */
export const FORGET_GRACE_MS = 3 * WATCHED_REFRESH_MS;

export interface RegisteredQueue {
  name: string;
  /** When a send last registered it (ms since the epoch, the store's clock); undefined: none recorded. */
  lastSentAt: number | undefined;
}

export interface RegistryPage {
  /** At most `limit` queues, the first whose names come after `after`, in name order (code points). */
  queues: RegisteredQueue[];
  /** The store's clock when the page was read (ms since the epoch): what `lastSentAt` compares with. */
  now: number;
}

export interface QueueRegistry {
  /** Adds the queue if new and stamps it registered now; `sent` stamps its last send too. */
  register(address: QueueAddress, sent: boolean): Promise<void>;
  /** The namespace's queues after `after` (undefined: from the first), in name order. */
  page(namespace: string, after: string | undefined, limit: number): Promise<RegistryPage>;
  /**
   * Removes these queues of the namespace, except those sent to within `sentWindowMs` or registered within
   * `FORGET_GRACE_MS`, by the store's clock now. Returns how many it removed.
   */
  forget(namespace: string, queues: string[], sentWindowMs: number): Promise<number>;
  /** The namespaces that have had queues registered (a namespace may stay listed once its queues are gone). */
  namespaces(): Promise<string[]>;
}
