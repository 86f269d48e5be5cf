/**
 * Settles the deliveries `consume` has printed, by receipt, and knows when every settle is confirmed:
 * acks go out together (one `queue:ack` per turn of the event loop, up to the contract's 1000 receipts);
 * `nack` (requeue) and `reject` (to `<queue>.dlq`) go one by one, as the contract has them. A settle the
 * node did not confirm (it failed, or its receipt was stale: the lease had ended, so the message is
 * delivered again) is warned about at once and counted; `drain()` waits for all and then fails with the
 * first such error.
 */
import { MailroomError, type Queue, type ReceivedMessage } from "@mailroom/client";

/** What `consume` does with each message it printed. */
export type Settlement = "ack" | "nack" | "reject";

/** The contract's most receipts in one `queue:ack`. */
const MAX_RECEIPTS_PER_ACK = 1000;

export class Settler {
  private readonly inFlight = new Set<Promise<void>>();
  private waitingAcks: ReceivedMessage[] = [];
  private flushScheduled = false;
  private failures = 0;
  private firstFailure: MailroomError | undefined;
  private issuedCount = 0;

  constructor(
    private readonly queue: Queue,
    private readonly settlement: Settlement,
    private readonly onFailure: (error: MailroomError, message: ReceivedMessage) => void,
  ) {}

  /** How many deliveries were handed to `settle` so far. */
  get issued(): number {
    return this.issuedCount;
  }

  /** Starts settling `message`; the node's answer is awaited by `drain()`. */
  settle(message: ReceivedMessage): void {
    this.issuedCount += 1;
    if (this.settlement !== "ack") {
      this.track(this.settleOne(message));
      return;
    }
    this.waitingAcks.push(message);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushAcks();
    });
  }

  /** Resolves once every settle so far is answered; rejects with the first one the node did not confirm. */
  async drain(): Promise<void> {
    this.flushAcks();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.firstFailure) {
      const others = this.failures - 1;
      const more = others > 0 ? ` (and ${others} more)` : "";
      throw new MailroomError(this.firstFailure.code, `${this.firstFailure.message}${more}`, {
        cause: this.firstFailure,
      });
    }
  }

  private flushAcks(): void {
    while (this.waitingAcks.length > 0) {
      const batch = this.waitingAcks.splice(0, MAX_RECEIPTS_PER_ACK);
      this.track(this.ackAll(batch));
    }
  }

  private async ackAll(messages: ReceivedMessage[]): Promise<void> {
    try {
      const { stale } = await this.queue.ack(messages.map((message) => message.receipt));
      const staleReceipts = new Set(stale);
      for (const message of messages) {
        if (staleReceipts.has(message.receipt)) this.fail(staleError(message), message);
      }
    } catch (error) {
      for (const message of messages) this.fail(asMailroomError(error, "ack"), message);
    }
  }

  private async settleOne(message: ReceivedMessage): Promise<void> {
    try {
      await this.queue.nack(message.receipt, { requeue: this.settlement === "nack" });
    } catch (error) {
      const failure = asMailroomError(error, this.settlement);
      this.fail(failure.code === "NOT_FOUND" ? staleError(message) : failure, message);
    }
  }

  private track(settling: Promise<void>): void {
    this.inFlight.add(settling);
    void settling.finally(() => this.inFlight.delete(settling));
  }

  private fail(error: MailroomError, message: ReceivedMessage): void {
    this.failures += 1;
    this.firstFailure ??= error;
    this.onFailure(error, message);
  }
}

function staleError(message: ReceivedMessage): MailroomError {
  return new MailroomError(
    "NOT_FOUND",
    `the lease of message ${message.id} (attempt ${message.attempt}) ended before it was settled: ` +
      "it will be delivered again",
  );
}

function asMailroomError(error: unknown, operation: string): MailroomError {
  return error instanceof MailroomError
    ? error
    : new MailroomError("INTERNAL", `${operation} failed`, { cause: error });
}
