/**
 * How large a request body each route takes, from the node's message maximum (docs/protocol.md §5). The body
 * limit only stops bodies no valid request could have (`PAYLOAD_TOO_LARGE` before parsing); the size rule
 * itself is applied to the decoded data afterwards, exactly as over Socket.IO. Binary data in JSON is
 * base64, a third larger than its bytes, so a message body may be that much larger than the maximum.
 */
import { QUEUE_LIMITS } from "@mailroom/protocol";

/** Room around one message's data: its other fields, up to 8 KiB of headers, JSON escapes and spacing. */
const MESSAGE_HEADROOM_BYTES = 64 * 1024;
/** Room per batch entry: its braces, id, options and a few headers (the data is counted in total). */
const BATCH_ENTRY_HEADROOM_BYTES = 1024;
/** Room per receipt in an ack: its quotes and comma. */
const RECEIPT_HEADROOM_BYTES = 8;
/** Bodies that carry options only (receive, nack). */
const OPTIONS_BODY_BYTES = 64 * 1024;

export interface BodyLimits {
  /** One message or one room publish. */
  message: number;
  /** A batch: its data together is at most one maximum, like a single message's. */
  batch: number;
  ack: number;
  options: number;
}

export function bodyLimits(maxMessageBytes: number): BodyLimits {
  const message = base64Length(maxMessageBytes) + MESSAGE_HEADROOM_BYTES;
  return {
    message,
    batch: message + QUEUE_LIMITS.maxBatch * BATCH_ENTRY_HEADROOM_BYTES,
    ack: QUEUE_LIMITS.maxBatch * (QUEUE_LIMITS.maxReceiptChars + RECEIPT_HEADROOM_BYTES) + OPTIONS_BODY_BYTES,
    options: OPTIONS_BODY_BYTES,
  };
}

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
