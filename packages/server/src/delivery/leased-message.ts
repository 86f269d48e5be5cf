/**
 * A leased message as both transports hand it out (docs/protocol.md §4 and §6 receive): its id, receipt, data,
 * headers, attempt and enqueue time, its dead-letter reason, group and priority when it has them (§11). A stored body that
 * cannot be decoded is logged and left to expire: undefined.
 */
import type { DeadLetterReason } from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import { decodeMessage } from "../engines/message-codec.js";
import type { Lease } from "../engines/queue-engine.js";

export interface LeasedMessage {
  id: string;
  receipt: string;
  data: unknown;
  headers: Record<string, string>;
  attempt: number;
  enqueuedAt: number;
  reason?: DeadLetterReason;
  group?: string;
  priority?: number;
}

export function leasedMessage(lease: Lease, logger: FastifyBaseLogger): LeasedMessage | undefined {
  let content: ReturnType<typeof decodeMessage>;
  try {
    content = decodeMessage(lease.body);
  } catch (error) {
    logger.error({ err: error, id: lease.id }, "a stored message could not be decoded; it is left to expire");
    return undefined;
  }
  const message: LeasedMessage = {
    id: lease.id,
    receipt: lease.receipt,
    data: content.data,
    headers: content.headers,
    attempt: lease.attempt,
    enqueuedAt: lease.enqueuedAt,
  };
  if (lease.reason) message.reason = lease.reason;
  if (lease.group !== undefined) message.group = lease.group;
  if (lease.priority !== undefined) message.priority = lease.priority;
  return message;
}
