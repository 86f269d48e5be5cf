/**
 * Gathers the acks a consumption's handlers make in one turn of the event loop into one `queue:ack`
 * with `receipts` (the contract takes up to 1,000), instead of one command per message: one frame each
 * way instead of one per delivery, for the node and for the client. Each caller still learns its own
 * outcome: stale (its lease had ended first) or not, or the command's error.
 */
import { QUEUE_LIMITS } from "@mailroom/protocol";
import type { SendCommand } from "./request.js";

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

  constructor(
    private readonly queue: string,
    private readonly send: SendCommand,
  ) {}

  /** Acks `receipt` with the others of this turn; resolves with whether it was stale. */
  ack(receipt: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) afterThisTurn(() => this.flush());
      this.pending.push({ receipt, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (let start = 0; start < batch.length; start += QUEUE_LIMITS.maxBatch) {
      void this.sendBatch(batch.slice(start, start + QUEUE_LIMITS.maxBatch));
    }
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
