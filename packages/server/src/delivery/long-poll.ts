/**
 * Receives over HTTP that wait (docs/protocol.md §6 `receive`, `waitMs`): lease up to `max` messages at once,
 * or, when none is ready, wait up to `waitMs` for one. A waiting receive listens for the engine's
 * wake-ups (a send, a requeue, a due delay, on any node) and tries again on each; since wake-ups may be
 * lost, it also tries again every `RECHECK_INTERVAL_MS`. It never polls faster than that.
 *
 * Invariants: a client that goes away holds no lease: its wait ends at once, and messages a receive
 * leased while it was leaving are released (ready again, at the head) right away. When the node closes,
 * every wait ends now and answers with what it has, so closing is not held up by long-polls.
 *
 * Limits (docs/protocol.md §15, "Between tenants"): at most `maxWaiting` receives wait at once on the
 * node; a receive that finds no message and would wait past that is answered `LIMIT_EXCEEDED` at once
 * (and reported). A receive whose token expires leases nothing more: the token's expiry is checked
 * before each lease attempt, the wait ends at the expiry, and the receive is answered `UNAUTHORIZED`.
 */
import { MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { Lease, QueueAddress, QueueEngine } from "../engines/queue-engine.js";
import type { LimitReporter } from "../metrics/limit-reporter.js";

/** How often a waiting receive tries again without a wake-up, since wake-ups can be lost. */
const RECHECK_INTERVAL_MS = 1000;

export interface PollRequest {
  address: QueueAddress;
  max: number;
  visibilityMs: number;
  waitMs: number;
  /** Aborted when the client goes away. */
  clientGone: AbortSignal;
  /** When the request's token expires, in ms since the epoch; absent with auth off. */
  expiresAt?: number | undefined;
  /** The token's `sub`, for the limit's report. */
  user?: string | undefined;
}

export interface LongPollOptions {
  /** Receives waiting at once on the node, at most. */
  maxWaiting: number;
  /** Told of each receive refused for that. */
  reporter: Pick<LimitReporter, "exceeded">;
}

/** Wakes one waiting receive: at once when woken since its last `reset`, else on the next `wake`. */
class Waiter {
  private woken = false;
  private resolve: (() => void) | undefined;

  reset(): void {
    this.woken = false;
  }

  wake = (): void => {
    this.woken = true;
    this.resolve?.();
  };

  /** Resolves when woken or after `timeoutMs`, whichever is first. */
  wait(timeoutMs: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.resolve = finish;
    });
  }
}

export class LongPolls {
  private readonly waiting = new Set<Waiter>();
  private closing = false;

  constructor(
    private readonly engine: QueueEngine,
    private readonly logger: FastifyBaseLogger,
    private readonly options: LongPollOptions,
  ) {}

  /**
   * Leases up to `max` ready messages, waiting up to `waitMs` for the first; `[]` when none came.
   * Throws `LIMIT_EXCEEDED` when it would wait and the node's waits are all taken, and `UNAUTHORIZED`
   * once the token has expired.
   */
  async receive(request: PollRequest): Promise<Lease[]> {
    const { address, max, visibilityMs, waitMs, clientGone, expiresAt } = request;
    const deadline = performance.now() + waitMs;
    const waiter = new Waiter();
    // Listening before the first try: a message sent between that try and the wait still wakes it.
    const unwatch = waitMs > 0 ? this.engine.watch(address, waiter.wake) : undefined;
    clientGone.addEventListener("abort", waiter.wake);
    try {
      for (;;) {
        waiter.reset();
        checkToken(expiresAt);
        const { leases } = await this.engine.receive(address, max, visibilityMs);
        if (clientGone.aborted) {
          await this.release(address, leases);
          return [];
        }
        if (leases.length > 0) return leases;
        const left = deadline - performance.now();
        if (left <= 0 || this.closing) return [];
        this.startWaiting(waiter, request);
        const untilExpiry = expiresAt === undefined ? left : expiresAt - Date.now();
        await waiter.wait(Math.max(0, Math.min(left, RECHECK_INTERVAL_MS, untilExpiry)));
        if (clientGone.aborted || this.closing) return [];
      }
    } finally {
      this.waiting.delete(waiter);
      clientGone.removeEventListener("abort", waiter.wake);
      unwatch?.();
    }
  }

  /** Counts a receive among the waiting ones, the first time it waits; refuses it past the limit. */
  private startWaiting(waiter: Waiter, { address, user }: PollRequest): void {
    if (this.waiting.has(waiter)) return;
    if (this.waiting.size >= this.options.maxWaiting) {
      this.options.reporter.exceeded("long_polls", address.namespace, user);
      throw new MailroomError(
        "LIMIT_EXCEEDED",
        `${this.options.maxWaiting} receives are already waiting on this node: retry, or receive with waitMs 0`,
      );
    }
    this.waiting.add(waiter);
  }

  /** The node is closing: every wait ends now, and no new one waits. */
  close(): void {
    this.closing = true;
    for (const waiter of this.waiting) waiter.wake();
  }

  private async release(address: QueueAddress, leases: Lease[]): Promise<void> {
    if (leases.length === 0) return;
    try {
      await this.engine.release(
        address,
        leases.map((lease) => lease.receipt),
      );
    } catch (error) {
      // The leases still end when they expire: nothing is lost, only delayed.
      this.logger.warn(
        { err: error, queue: address.queue },
        "could not end a gone client's leases; they end at expiry",
      );
    }
  }
}

/** Throws `UNAUTHORIZED` once the request's token has expired. */
function checkToken(expiresAt: number | undefined): void {
  if (expiresAt !== undefined && Date.now() >= expiresAt) {
    throw new MailroomError("UNAUTHORIZED", "the token expired while the receive waited");
  }
}
