/**
 * A queue message as a consumer's handler receives it: the `queue:message` delivery of docs/protocol.md §4,
 * checked and with binary data as a `Uint8Array`. A delivery that does not have the contract's shape is
 * not a message (`undefined`): the SDK drops it rather than throw out of a socket listener.
 */
import type { DeadLetterReason, QueueMessage } from "@mailroom/protocol";
import { asDelivered } from "./delivered-data.js";

/**
 * One delivery of a message to a consumer. The same message delivered again (after a failed handler, an
 * expired lease or a lost connection) comes with a higher `attempt` and a new `receipt`.
 * @example
 * await client.queue<Order>("orders").consume(async (message) => {
 *   console.log(message.id, message.attempt, message.headers["trace-id"], message.data.total);
 * });
 */
export interface ReceivedMessage<Data = unknown> {
  /** The queue it was delivered from (a `.dlq` queue's name for a dead letter). */
  readonly queue: string;
  /** The message's id: the producer's, or the one the node chose; the same on every delivery. */
  readonly id: string;
  /** What the producer sent; binary arrives as a `Uint8Array` (a `Buffer` in Node). */
  readonly data: Data;
  /** The producer's headers; `{}` when it sent none. */
  readonly headers: Readonly<Record<string, string>>;
  /** Which delivery this is, counting from 1. */
  readonly attempt: number;
  /** When the node accepted the message, in ms since the epoch. */
  readonly enqueuedAt: number;
  /** The lease of this delivery, for `queue.ack`, `queue.nack` and `queue.extend`. */
  readonly receipt: string;
  /** Why the message is in a `.dlq` queue: `rejected` (nacked without requeue) or `maxAttempts`. */
  readonly reason?: DeadLetterReason;
  /** The message's group, when it has one (docs/protocol.md §11). */
  readonly group?: string;
  /** Its priority, when it has a group or a priority above 0. */
  readonly priority?: number;
}

/** A `queue:message` delivery: the consumer it is for and its message. */
export interface Delivery<Data> {
  consumer: string;
  message: ReceivedMessage<Data>;
}

/** Reads a `queue:message` delivery; `undefined` when it lacks the contract's shape. */
export function readDelivery<Data>(delivery: unknown): Delivery<Data> | undefined {
  if (!isQueueMessage(delivery)) return undefined;
  const message: ReceivedMessage<Data> = {
    queue: delivery.queue,
    id: delivery.id,
    data: asDelivered(delivery.data) as Data,
    headers: delivery.headers,
    attempt: delivery.attempt,
    enqueuedAt: delivery.enqueuedAt,
    receipt: delivery.receipt,
    ...(delivery.reason === undefined ? {} : { reason: delivery.reason }),
    ...(delivery.group === undefined ? {} : { group: delivery.group }),
    ...(delivery.priority === undefined ? {} : { priority: delivery.priority }),
  };
  return { consumer: delivery.consumer, message };
}

function isQueueMessage(value: unknown): value is QueueMessage {
  if (typeof value !== "object" || value === null) return false;
  const { queue, consumer, id, receipt, headers, attempt, enqueuedAt } = value as Partial<QueueMessage>;
  return (
    typeof queue === "string" &&
    typeof consumer === "string" &&
    typeof id === "string" &&
    typeof receipt === "string" &&
    typeof headers === "object" &&
    headers !== null &&
    typeof attempt === "number" &&
    typeof enqueuedAt === "number"
  );
}
