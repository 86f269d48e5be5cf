/**
 * The checks a message passes on its way into a queue, shared by the Socket.IO commands and the HTTP
 * routes, in the contract's order: the headers' limits (`BAD_REQUEST`, with the shape), the queue's name,
 * the producer's id and the group (`INVALID_NAME`), and the size of the data (`PAYLOAD_TOO_LARGE`, docs/protocol.md §5). Shapes are checked before, by the schemas;
 * nothing here touches the store.
 */
import { randomUUID } from "node:crypto";
import {
  groupNameProblem,
  MailroomError,
  messageIdProblem,
  type OutgoingMessage,
  QUEUE_LIMITS,
  queueNameProblem,
  utf8ByteLength,
} from "@mailroom/protocol";
import { encodeJsonMessage, encodeMessage } from "../engines/message-codec.js";
import type { NewMessage, QueueAddress } from "../engines/queue-engine.js";
import { dataJson, isBinary } from "./payload-size.js";

/** The queue's address, or `INVALID_NAME` when its name breaks the rule (the namespace is checked apart). */
export function queueAddress(namespace: string, queue: string): QueueAddress {
  const problem = queueNameProblem(queue);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
  return { namespace, queue };
}

/** A producer's message made ready to store, with its size as §5 counts it. */
export function prepareMessage(
  message: OutgoingMessage,
  defaultMaxAttempts: number,
): { message: NewMessage; bytes: number } {
  if (message.id !== undefined) {
    const problem = messageIdProblem(message.id);
    if (problem) throw new MailroomError("INVALID_NAME", problem);
  }
  if (message.group !== undefined) {
    const problem = groupNameProblem(message.group);
    if (problem) throw new MailroomError("INVALID_NAME", problem);
  }
  const headers = message.headers ?? {};
  // JSON data is stringified once: its text gives both its size and the stored body.
  let bytes: number;
  let body: Buffer;
  if (isBinary(message.data)) {
    bytes = message.data.byteLength;
    body = encodeMessage(message.data, headers);
  } else {
    const json = dataJson(message.data);
    bytes = Buffer.byteLength(json, "utf8");
    body = encodeJsonMessage(json, headers);
  }
  return {
    bytes,
    message: {
      id: message.id ?? randomUUID(),
      chosenByProducer: message.id !== undefined,
      body,
      delayMs: message.delayMs ?? 0,
      ttlMs: message.ttlMs ?? 0,
      maxAttempts: message.maxAttempts ?? defaultMaxAttempts,
      group: message.group,
      priority: message.priority ?? 0,
    },
  };
}

/** `PAYLOAD_TOO_LARGE` when `bytes` is over the maximum; `what` names the data in the message. */
export function checkSize(bytes: number, maximum: number, what: string): void {
  if (bytes > maximum) {
    throw new MailroomError("PAYLOAD_TOO_LARGE", `${what} is ${bytes} bytes; the maximum is ${maximum}`);
  }
}

/**
 * `BAD_REQUEST` when a message's headers break their limits. Part of the shape, so it runs before any
 * name is checked; call it on every message first.
 */
export function checkHeaderLimits(messages: { headers?: Record<string, string> | undefined }[]): void {
  for (const message of messages) if (message.headers) checkHeaders(message.headers);
}

function checkHeaders(headers: Record<string, string>): void {
  const entries = Object.entries(headers);
  if (entries.length > QUEUE_LIMITS.maxHeaders) {
    throw new MailroomError("BAD_REQUEST", `headers: at most ${QUEUE_LIMITS.maxHeaders} entries`);
  }
  let bytes = 0;
  for (const [name, value] of entries) bytes += utf8ByteLength(name) + utf8ByteLength(value);
  if (bytes > QUEUE_LIMITS.maxHeaderBytes) {
    throw new MailroomError("BAD_REQUEST", `headers: at most ${QUEUE_LIMITS.maxHeaderBytes} bytes together`);
  }
}
