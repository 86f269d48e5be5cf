/**
 * Gathers a consumption's acks into one `queue:ack` with `receipts` (the contract takes up to 1,000),
 * instead of one command per message: one frame each way, and one script in Redis, for many deliveries.
 * An ack waits up to ACK_LINGER_MS for others to share its command; at everyday rates a message comes
 * alone, and its own command, answer and script cost the node and Redis more than the message did
 * (BENCHMARKS.md, "Acks that wait 2 ms for company"). It waits only while the consumption says it may
 * (`mayWait`: it holds less than half its prefetch, so the node has credit to send it more and pulls as
 * much at a time as before); otherwise the acks go after this turn of the event loop, as they all did
 * before, so a busy consumption's acks are never late and one of prefetch 1 never waits. `flushNow`
 * sends what waits at once (the client closes). Each caller still learns its own outcome: stale (its
 * lease had ended first) or not, or the command's error.
 */
import { QUEUE_LIMITS } from "@mailroom/protocol";
import type { SendCommand } from "./request.js";

/** How long an ack waits at most for others to share its command, in ms. */
export const ACK_LINGER_MS = 2;

interface PendingAck {
  receipt: string;
  resolve: (stale: boolean) => void;
  reject: (error: unknown) => void;
}

/** Runs `flush` after the current turn: setImmediate where there is one (Node), else a zero timeout. */
const afterThisTurn: (flush: () => void) => void =
  typeof setImmediate === "function" ? (flush) => setImmediate(flush) : (flush) => setTimeout(flush, 0);

export class AckBatcher {
  private pending: PendingAck[] = [];
  /** The linger's timer while acks wait for company. */
  private lingering: ReturnType<typeof setTimeout> | undefined;
  /** Whether a flush after this turn is scheduled. */
  private flushingSoon = false;
  constructor(
    private readonly queue: string,
    private readonly send: SendCommand,
    /** Whether acks may wait for company now (the node is not short of credit for the consumption). */
    private readonly mayWait: () => boolean,
  ) {}

  /** Acks `receipt` with others; resolves with whether it was stale. */
  ack(receipt: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ receipt, resolve, reject });
      if (this.pending.length >= QUEUE_LIMITS.maxBatch || !this.mayWait()) this.flushSoon();
      else this.lingering ??= setTimeout(() => this.flushNow(), ACK_LINGER_MS);
    });
  }

  /** Sends every ack that waits, now. */
  flushNow(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    const batch = this.pending;
    this.pending = [];
    for (let start = 0; start < batch.length; start += QUEUE_LIMITS.maxBatch) {
      void this.sendBatch(batch.slice(start, start + QUEUE_LIMITS.maxBatch));
    }
  }

  /** Sends after this turn, with the acks the rest of the turn adds. */
  private flushSoon(): void {
    if (this.flushingSoon) return;
    this.flushingSoon = true;
    afterThisTurn(() => {
      this.flushingSoon = false;
      this.flushNow();
    });
  }

  private async sendBatch(batch: PendingAck[]): Promise<void> {
    try {
      const { stale } = await this.send("queue:ack", {
        queue: this.queue,
        receipts: batch.map((entry) => entry.receipt),
      });
      const staleReceipts = new Set(stale);
      for (const entry of batch) entry.resolve(staleReceipts.has(entry.receipt));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
