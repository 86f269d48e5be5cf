/**
 * The queue commands of docs/protocol.md §3 and the `queue:message` delivery of §4: argument schemas with
 * their ranges, and result types. Shapes and ranges only: name rules live in names.ts, the ranges' and
 * defaults' numbers in queue-limits.ts. A number out of its range is `BAD_REQUEST`, never clamped.
 */
import { type Static, Type } from "@sinclair/typebox";
import { QUEUE_LIMITS } from "./queue-limits.js";

const strict = { additionalProperties: false } as const;

const integer = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });

export const DelayMs = integer(0, QUEUE_LIMITS.maxDelayMs);
export const TtlMs = integer(QUEUE_LIMITS.minTtlMs, QUEUE_LIMITS.maxTtlMs);
export const MaxAttempts = integer(QUEUE_LIMITS.minMaxAttempts, QUEUE_LIMITS.maxMaxAttempts);
export const VisibilityMs = integer(QUEUE_LIMITS.minVisibilityMs, QUEUE_LIMITS.maxVisibilityMs);
export const Prefetch = integer(QUEUE_LIMITS.minPrefetch, QUEUE_LIMITS.maxPrefetch);
export const Headers = Type.Record(Type.String(), Type.String(), { maxProperties: QUEUE_LIMITS.maxHeaders });
export const Receipt = Type.String({ minLength: 1, maxLength: QUEUE_LIMITS.maxReceiptChars });
export const Priority = integer(QUEUE_LIMITS.minPriority, QUEUE_LIMITS.maxPriority);

/** One message as a producer gives it, in `queue:send` (with `queue`) and in `queue:sendBatch`. */
const messageFields = {
  data: Type.Unknown(),
  id: Type.Optional(Type.String()),
  headers: Type.Optional(Headers),
  delayMs: Type.Optional(DelayMs),
  ttlMs: Type.Optional(TtlMs),
  maxAttempts: Type.Optional(MaxAttempts),
  /** §11: the message's group (its name is checked apart, names.ts). */
  group: Type.Optional(Type.String()),
  priority: Type.Optional(Priority),
};

export const OutgoingMessage = Type.Object(messageFields, strict);
export type OutgoingMessage = Static<typeof OutgoingMessage>;

export const QueueSendArgs = Type.Object({ queue: Type.String(), ...messageFields }, strict);
export type QueueSendArgs = Static<typeof QueueSendArgs>;

export const QueueSendBatchArgs = Type.Object(
  { queue: Type.String(), messages: Type.Array(OutgoingMessage, { minItems: 1, maxItems: QUEUE_LIMITS.maxBatch }) },
  strict,
);
export type QueueSendBatchArgs = Static<typeof QueueSendBatchArgs>;

export const QueueConsumeArgs = Type.Object(
  {
    queue: Type.String(),
    prefetch: Type.Optional(Prefetch),
    visibilityMs: Type.Optional(VisibilityMs),
    /**
     * An addition to the contract: `true` delivers the messages one pull leased together as one
     * `queue:messages` event (an array of `queue:message` payloads) instead of one event each: fewer
     * frames for the node and the client. @default false
     */
    batch: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type QueueConsumeArgs = Static<typeof QueueConsumeArgs>;

export const QueueCancelArgs = Type.Object({ consumer: Type.String({ maxLength: 128 }) }, strict);
export type QueueCancelArgs = Static<typeof QueueCancelArgs>;

export const QueueAckArgs = Type.Union([
  Type.Object({ queue: Type.String(), receipt: Receipt }, strict),
  Type.Object(
    { queue: Type.String(), receipts: Type.Array(Receipt, { minItems: 1, maxItems: QUEUE_LIMITS.maxBatch }) },
    strict,
  ),
]);
export type QueueAckArgs = Static<typeof QueueAckArgs>;

export const QueueNackArgs = Type.Object(
  { queue: Type.String(), receipt: Receipt, requeue: Type.Optional(Type.Boolean()), delayMs: Type.Optional(DelayMs) },
  strict,
);
export type QueueNackArgs = Static<typeof QueueNackArgs>;

export const QueueExtendArgs = Type.Object(
  { queue: Type.String(), receipt: Receipt, visibilityMs: VisibilityMs },
  strict,
);
export type QueueExtendArgs = Static<typeof QueueExtendArgs>;

export const QueueNameArgs = Type.Object({ queue: Type.String() }, strict);
export type QueueNameArgs = Static<typeof QueueNameArgs>;

export interface SendResult {
  id: string;
  duplicate: boolean;
}

export interface SendBatchResult {
  results: SendResult[];
}

export interface ConsumeResult {
  consumer: string;
  /** The prefetch in force (an addition to the contract: the default when none was given). */
  prefetch: number;
  /** The lease length in force (an addition: the node's default when none was given), so SDKs can extend. */
  visibilityMs: number;
}

export interface AckResult {
  acked: number;
  stale: string[];
}

export interface NackResult {
  deadLettered: boolean;
}

export interface QueueStats {
  ready: number;
  inflight: number;
  delayed: number;
  deadLettered: number;
  consumers: number;
  /** §11: how many groups have messages in the queue now (ready, in flight or delayed). */
  groups: number;
}

export interface PurgeResult {
  purged: number;
}

export interface RedriveResult {
  moved: number;
}

/** Why a message is in a `.dlq` queue. */
export type DeadLetterReason = "rejected" | "maxAttempts";

/** The `queue:message` event a consumer receives. */
export interface QueueMessage {
  queue: string;
  consumer: string;
  id: string;
  receipt: string;
  // biome-ignore lint/suspicious/noExplicitAny: data is whatever the producer sent
  data: any;
  headers: Record<string, string>;
  attempt: number;
  enqueuedAt: number;
  reason?: DeadLetterReason;
  /** §11: when the message has them. */
  group?: string;
  priority?: number;
}

/** The suffix of a queue's dead-letter queue. */
export const DEAD_LETTER_SUFFIX = ".dlq";

export function deadLetterQueueOf(queue: string): string {
  return `${queue}${DEAD_LETTER_SUFFIX}`;
}

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(DEAD_LETTER_SUFFIX);
}
