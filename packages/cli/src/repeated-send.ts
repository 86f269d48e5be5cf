/**
 * `send --count N`: the same message N times, fast. Messages go in `queue:sendBatch` batches (each all or
 * nothing), a few batches in flight at once. A batch holds at most the contract's 1000 messages and about
 * `BATCH_BUDGET_BYTES` of messages (data, headers, options), so it stays below a node's packet limit
 * whatever its maximum message size; a batch the node still finds too large in total (`PAYLOAD_TOO_LARGE`) is split in
 * two and sent again, and later batches are that small too. A message that is too large alone fails the
 * send. Batches in flight together may be stored in any order; the messages are all alike.
 */
import { Buffer } from "node:buffer";
import { type BatchMessage, MailroomError, type Queue, type SendResult } from "@mailroom/client";
import { dataBytes } from "./message-data.js";

/** The contract's largest `queue:sendBatch`. */
const MAX_BATCH_MESSAGES = 1000;
/**
 * One batch's messages, data and all: a node takes packets of its maximum message size plus 64 KiB, so half
 * that margin fits whatever maximum it has, and is large enough to be fast.
 */
const BATCH_BUDGET_BYTES = 32 * 1024;
/** Batches sent before the first is answered: enough to keep a node busy over a round trip. */
const BATCHES_IN_FLIGHT = 4;

export interface RepeatedSendResult {
  sent: number;
  duplicates: number;
}

/** Sends `message` `count` times to `queue`; calls `onSent` with each batch's size once it is stored. */
export async function sendRepeatedly(
  queue: Queue,
  message: BatchMessage,
  count: number,
  onSent: (stored: number) => void,
): Promise<RepeatedSendResult> {
  let batchSize = initialBatchSize(message);
  let unassigned = count;
  const result: RepeatedSendResult = { sent: 0, duplicates: 0 };

  const sendBatch = async (size: number): Promise<void> => {
    let results: SendResult[];
    try {
      results = await queue.sendBatch(Array.from({ length: size }, () => message));
    } catch (error) {
      if (!(error instanceof MailroomError && error.code === "PAYLOAD_TOO_LARGE" && size > 1)) throw error;
      const half = Math.ceil(size / 2);
      batchSize = Math.min(batchSize, half);
      await sendBatch(half);
      await sendBatch(size - half);
      return;
    }
    result.sent += results.length;
    result.duplicates += results.filter((sent) => sent.duplicate).length;
    onSent(results.length);
  };

  const worker = async (): Promise<void> => {
    while (unassigned > 0) {
      const size = Math.min(batchSize, unassigned);
      unassigned -= size;
      try {
        await sendBatch(size);
      } catch (error) {
        unassigned = 0; // one failure ends the send: the other workers stop after their batch
        throw error;
      }
    }
  };

  const workers = Array.from({ length: Math.min(BATCHES_IN_FLIGHT, Math.ceil(count / batchSize)) }, worker);
  const settled = await Promise.allSettled(workers);
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failure) throw failure.reason;
  return result;
}

/** As many copies of `message` as fit the budget, at least one, at most the contract's batch maximum. */
function initialBatchSize(message: BatchMessage): number {
  const { data, ...options } = message;
  // The message as it travels: its data, and its options and JSON punctuation around it.
  const bytes = dataBytes(data) + Buffer.byteLength(JSON.stringify({ ...options, data: null }), "utf8");
  return Math.min(MAX_BATCH_MESSAGES, Math.max(1, Math.floor(BATCH_BUDGET_BYTES / bytes)));
}
