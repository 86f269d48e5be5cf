/**
 * What the queue scenarios need from a queue system, Mailroom or a peer: a producer that sends one
 * message or a batch and resolves once the system has accepted it, and a consumer that receives, acks and
 * reports each message. A system that has groups sends each message in the payload's `group` and
 * reports each delivery's group and attempt; the others ignore the group. Each implementation uses its system the way its documentation says; the
 * scenarios run the same producer and consumer shapes against all of them.
 */
import type { Payload } from "./payload.js";

/** Where a system is reached. */
export interface QueueTarget {
  /** The bench's own Redis (Redis-based systems). */
  redisUrl: string;
  /** The Mailroom node a Mailroom producer or consumer connects to. */
  nodeUrl?: string;
  /** The RabbitMQ broker (amqp://...). */
  amqpUrl?: string;
}

export interface QueueProducer {
  /** Resolves once the system has accepted the message. */
  sendOne(message: Payload): Promise<void>;
  /** Resolves once the system has accepted every message of the batch. */
  sendBatch(messages: Payload[]): Promise<void>;
  close(): Promise<void>;
}

/** What a system that has groups (Mailroom) says of a delivery beside its data. */
export interface DeliveryFacts {
  /** The group the delivery names, if any. */
  group: string | undefined;
  /** 1 for a first delivery, more for a redelivery. */
  attempt: number;
}

export interface ConsumerListener {
  /** A message arrived at the consumer's handler (`delivery`: from the systems that have groups). */
  received(message: Payload, delivery?: DeliveryFacts): void;
  /** Its ack was sent (or, where the system answers acks, answered). */
  settled(): void;
}

export interface QueueConsumer {
  /** Resolves once the system holds no unacked message of this consumer's (a no-op where acks answer). */
  drained(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueConsumerOptions {
  /** Unacked messages one consumer may hold: prefetch, or worker concurrency. */
  inFlight: number;
}

export interface QueueSystem {
  producer(target: QueueTarget, queue: string): Promise<QueueProducer>;
  consumer(
    target: QueueTarget,
    queue: string,
    listener: ConsumerListener,
    options: QueueConsumerOptions,
  ): Promise<QueueConsumer>;
}
