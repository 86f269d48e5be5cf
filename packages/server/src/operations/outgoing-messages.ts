/**
 * The checks a message passes on its way into a queue, shared by the Socket.IO commands and the HTTP
 * routes, in the contract's order: the headers' limits and the data's shape (`BAD_REQUEST`, with the
 * shape), the queue's name,
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

/** A message's data and headers as the store keeps them, with the data's size as §5 counts it. */
export interface EncodedContent {
  body: Buffer;
  bytes: number;
}

/**
 * Encodes a message's data with its headers; `BAD_REQUEST` for data of a shape the store cannot keep
 * (binary inside data, nesting too deep: payload-size.ts). Part of the shape, so it runs before any name is
 * checked; call it on every message first.
 */
export function encodeContent(message: OutgoingMessage): EncodedContent {
  const headers = message.headers ?? {};
  if (isBinary(message.data)) return { bytes: message.data.byteLength, body: encodeMessage(message.data, headers) };
  // JSON data is stringified once: its text gives both its size and the stored body.
  const json = dataJson(message.data);
  return { bytes: Buffer.byteLength(json, "utf8"), body: encodeJsonMessage(json, headers) };
}

/**
 * `BAD_REQUEST` when two messages of a batch carry the same binary object. Socket.IO's parser gives every
 * binary attachment a Buffer of its own, and turns any `{ "_placeholder": true, "num": N }` object of a
 * packet that has attachments into attachment N: a second reference to one Buffer is a producer's JSON
 * that the parser made into another message's bytes, which must not be stored as binary (docs/protocol.md
 * §15). Part of the shape.
 */
export function checkDistinctBinary(messages: { data?: unknown }[]): void {
  if (messages.length < 2) return;
  const seen = new Set<unknown>();
  for (const { data } of messages) {
    if (!isBinary(data)) continue;
    if (seen.has(data)) {
      throw new MailroomError(
        "BAD_REQUEST",
        'two messages of this batch hold the same binary attachment: JSON shaped like a Socket.IO placeholder ({ "_placeholder": true, "num": N }) beside binary data is read as that binary by Socket.IO; send it in a batch of its own',
      );
    }
    seen.add(data);
  }
}

/** A producer's message made ready to store, its content encoded already; `INVALID_NAME` for its id or group. */
export function prepareMessage(
  message: OutgoingMessage,
  content: EncodedContent,
  defaultMaxAttempts: number,
): NewMessage {
  if (message.id !== undefined) {
    const problem = messageIdProblem(message.id);
    if (problem) throw new MailroomError("INVALID_NAME", problem);
  }
  if (message.group !== undefined) {
    const problem = groupNameProblem(message.group);
    if (problem) throw new MailroomError("INVALID_NAME", problem);
  }
  return {
    id: message.id ?? randomUUID(),
    chosenByProducer: message.id !== undefined,
    body: content.body,
    delayMs: message.delayMs ?? 0,
    ttlMs: message.ttlMs ?? 0,
    maxAttempts: message.maxAttempts ?? defaultMaxAttempts,
    group: message.group,
    priority: message.priority ?? 0,
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
