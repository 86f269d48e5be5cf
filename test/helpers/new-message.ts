/**
 * A message as a queue engine takes it (NewMessage) for the tests that drive an engine directly: a fresh
 * server-chosen id, the body as text, five attempts, no TTL; a group, a priority and a delay when given.
 */
import { randomUUID } from "node:crypto";
import type { NewMessage } from "../../packages/server/src/engines/queue-engine.js";

export function newMessage(
  body: string,
  placement: { group?: string; priority?: number; delayMs?: number } = {},
): NewMessage {
  return {
    id: randomUUID(),
    chosenByProducer: false,
    body: Buffer.from(body),
    delayMs: placement.delayMs ?? 0,
    ttlMs: 0,
    maxAttempts: 5,
    ...(placement.group === undefined ? {} : { group: placement.group }),
    ...(placement.priority === undefined ? {} : { priority: placement.priority }),
  };
}
