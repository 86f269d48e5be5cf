/**
 * How a node on Redis keeps the queue registry (queue-registry.ts) told of its queues without paying per
 * message. It remembers, per queue and per reason, when it last registered it, and registers again only
 * after `REGISTRATION_INTERVAL_MS`:
 * - `sent`: the first send to a queue in the interval registers it, and that send waits for it, so the
 *   queue of every accepted message is in the registry; the other sends cost a map lookup. Concurrent
 *   first sends share one registration.
 * - `touched` (dead letters moved into a `.dlq`, a redrive into a queue): registered in the background;
 *   one that fails is retried every `RETRY_MS` until it lands.
 * - `watching`: a queue this node consumes is registered at once and again every `WATCHED_REFRESH_MS`
 *   while consumed, so the registry never forgets it (`FORGET_GRACE_MS` is longer).
 * Memory is bounded: at most `MAX_REMEMBERED` queues per reason are remembered, the least recently
 * registered forgotten first (they are registered again at their next event), and at most as many
 * background registrations wait for a retry. Times here are this process's monotonic clock; the
 * registry's own are the store's.
 */
import type { FastifyBaseLogger } from "fastify";
import type { QueueAddress } from "../queue-engine.js";
import { type QueueRegistry, REGISTRATION_INTERVAL_MS, WATCHED_REFRESH_MS } from "../queue-registry.js";
import { parseQueueRef, queueRef } from "../refs.js";

/** How often background registrations that failed (the store away) are tried again. */
const RETRY_MS = 1000;
/** Queues remembered per reason: ~100 bytes each, so a client inventing names cannot grow the node. */
const MAX_REMEMBERED = 10_000;

export class QueueRegistrations {
  /** Queue ref -> when a send last registered it (performance.now()), least recent first. */
  private readonly sentAt = new Map<string, number>();
  /** Queue ref -> when it was last registered for any reason, least recent first. */
  private readonly seenAt = new Map<string, number>();
  /** Registrations for a send on their way, shared by the sends that wait for them. */
  private readonly sending = new Map<string, Promise<void>>();
  /** Background registrations on their way. */
  private readonly touching = new Set<string>();
  /** Background registrations that failed, to try again. */
  private readonly retries = new Set<string>();
  /** Queues this node consumes, with how many watchers each. */
  private readonly watched = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly registry: QueueRegistry,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Undefined when a send registered the queue recently enough; else the registration to wait for. */
  sent(address: QueueAddress): Promise<void> | undefined {
    const ref = queueRef(address.namespace, address.queue);
    if (isRecent(this.sentAt, ref)) return undefined;
    const running = this.sending.get(ref);
    if (running) return running;
    const startedAt = performance.now();
    const registering = this.registry
      .register(address, true)
      .then(() => {
        remember(this.sentAt, ref, startedAt);
        remember(this.seenAt, ref, startedAt);
      })
      .finally(() => this.sending.delete(ref));
    this.sending.set(ref, registering);
    return registering;
  }

  /** Registers the queue in the background unless it was registered recently; never fails (retried). */
  touched(address: QueueAddress): void {
    const ref = queueRef(address.namespace, address.queue);
    if (this.closed || isRecent(this.seenAt, ref) || this.touching.has(ref)) return;
    this.touching.add(ref);
    const startedAt = performance.now();
    this.registry.register(address, false).then(
      () => {
        this.touching.delete(ref);
        remember(this.seenAt, ref, startedAt);
      },
      (error: unknown) => {
        this.touching.delete(ref);
        this.logger.debug({ err: error }, "a queue could not be registered; retrying");
        this.retryLater(ref);
      },
    );
  }

  /** Keeps the queue registered while this node consumes it; returns the function that stops. */
  watching(address: QueueAddress): () => void {
    const ref = queueRef(address.namespace, address.queue);
    this.watched.set(ref, (this.watched.get(ref) ?? 0) + 1);
    this.touched(address);
    if (!this.refreshTimer && !this.closed) {
      this.refreshTimer = setInterval(() => this.refreshWatched(), WATCHED_REFRESH_MS);
      this.refreshTimer.unref();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      const count = (this.watched.get(ref) ?? 1) - 1;
      if (count > 0) this.watched.set(ref, count);
      else this.watched.delete(ref);
      if (this.watched.size === 0) this.refreshTimer = stopTimer(this.refreshTimer);
    };
  }

  close(): void {
    this.closed = true;
    this.retryTimer = stopTimer(this.retryTimer);
    this.refreshTimer = stopTimer(this.refreshTimer);
    this.retries.clear();
  }

  private refreshWatched(): void {
    for (const ref of this.watched.keys()) this.touched(parseQueueRef(ref));
  }

  private retryLater(ref: string): void {
    if (this.closed) return;
    if (this.retries.size >= MAX_REMEMBERED) {
      this.logger.warn({ queue: ref }, "too many queues wait to be registered; this one waits for its next event");
      return;
    }
    this.retries.add(ref);
    if (this.retryTimer) return;
    this.retryTimer = setInterval(() => {
      const due = [...this.retries];
      this.retries.clear();
      if (due.length === 0) this.retryTimer = stopTimer(this.retryTimer);
      for (const waiting of due) this.touched(parseQueueRef(waiting));
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}

function isRecent(registeredAt: Map<string, number>, ref: string): boolean {
  const at = registeredAt.get(ref);
  return at !== undefined && performance.now() - at < REGISTRATION_INTERVAL_MS;
}

/** Records a registration, as the most recent entry; past the bound, the least recent is forgotten. */
function remember(registeredAt: Map<string, number>, ref: string, at: number): void {
  registeredAt.delete(ref);
  registeredAt.set(ref, at);
  if (registeredAt.size > MAX_REMEMBERED) {
    const oldest = registeredAt.keys().next().value;
    if (oldest !== undefined) registeredAt.delete(oldest);
  }
}

function stopTimer(timer: NodeJS.Timeout | undefined): undefined {
  clearInterval(timer);
  return undefined;
}
