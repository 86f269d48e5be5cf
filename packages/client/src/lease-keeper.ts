/**
 * Keeps one delivery's lease alive while its handler runs: every half lease it asks the node to extend
 * the lease by a whole one (`queue:extend`, counted from then), so a slow handler does not see its
 * message handed to another consumer (docs/protocol.md §5, lease end). One timer per running handler.
 *
 * Invariants: at most one extend is in flight at a time (a tick while one is pending is skipped, so a
 * slow or disconnected socket does not pile them up); after `stop()` nothing more is sent and a failure
 * of an extend still in flight is not reported (the handler has settled; its ack or nack decides). A
 * lease the node no longer knows (`NOT_FOUND`: expired, or its connection was lost) is reported once and
 * not extended again. Other failures are reported and the next tick tries again.
 */
import { MailroomError } from "@mailroom/protocol";

/**
 * Extend when half the lease is gone: the other half leaves room for the extend to reach the node even
 * on a slow connection, and it is only one command per half lease.
 */
const EXTEND_AFTER_FRACTION_OF_LEASE = 0.5;

export interface LeaseKeeperOptions {
  /** The lease's length, in ms: each extend asks for this much from now. */
  visibilityMs: number;
  /** Sends one `queue:extend` for the delivery's receipt. */
  extend: (visibilityMs: number) => Promise<unknown>;
  /** Told about each failed extend while the keeper runs. */
  onError: (error: MailroomError) => void;
}

/** Starts keeping a lease alive now; the returned function stops it (calling it again does nothing). */
export function keepLeaseAlive(options: LeaseKeeperOptions): () => void {
  const { visibilityMs, extend, onError } = options;
  let stopped = false;
  let extending = false;

  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };

  const tick = async (): Promise<void> => {
    if (stopped || extending) return;
    extending = true;
    try {
      await extend(visibilityMs);
    } catch (error) {
      if (stopped) return;
      const reported =
        error instanceof MailroomError ? error : new MailroomError("INTERNAL", "extending failed", { cause: error });
      if (reported.code === "NOT_FOUND") stop();
      onError(reported);
    } finally {
      extending = false;
    }
  };

  const timer = setInterval(() => void tick(), visibilityMs * EXTEND_AFTER_FRACTION_OF_LEASE);
  return stop;
}
