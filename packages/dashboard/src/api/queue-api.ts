/**
 * The queue routes the dashboard calls: a queue's stats (when the snapshot left it out), a peek at its
 * messages (which leases and changes nothing), and the admin actions redrive and purge.
 */
import { requestJson } from "./http.js";
import { queuePath } from "./queue-paths.js";

export interface QueueStats {
  name: string;
  ready: number;
  inflight: number;
  delayed: number;
  deadLettered: number;
  consumers: number;
  groups?: number;
}

/** A message's data as JSON carries it: any JSON value, or `{ $binary: base64 }` for bytes. */
export type MessageData = unknown;

export interface PeekedMessage {
  id: string;
  data: MessageData;
  headers: Record<string, string>;
  attempt: number;
  /** Epoch milliseconds. */
  enqueuedAt: number;
  group?: string;
  priority?: number;
  /** Why it was dead-lettered: only in a `.dlq` queue. */
  reason?: string;
}

export type PeekState = "ready" | "delayed" | "inflight";

/** How many messages a peek shows: the route allows 1 to 100. */
export const PEEK_LIMIT = 50;

export function fetchQueueStats(namespace: string, queue: string): Promise<QueueStats> {
  return requestJson<QueueStats>(queuePath(namespace, queue));
}

export async function peekMessages(namespace: string, queue: string, state: PeekState): Promise<PeekedMessage[]> {
  const query = new URLSearchParams({ state, limit: String(PEEK_LIMIT) });
  const { messages } = await requestJson<{ messages: PeekedMessage[] }>(
    `${queuePath(namespace, queue)}/messages?${query}`,
  );
  return messages;
}

/** Moves the dead letters of `<queue>.dlq` back to the tail of `queue`; resolves with how many moved. */
export async function redrive(namespace: string, queue: string): Promise<number> {
  const { moved } = await requestJson<{ moved: number }>(`${queuePath(namespace, queue)}/redrive`, { method: "POST" });
  return moved;
}

/** Drops the queue's ready and delayed messages; resolves with how many. */
export async function purge(namespace: string, queue: string): Promise<number> {
  const { purged } = await requestJson<{ purged: number }>(`${queuePath(namespace, queue)}/messages`, {
    method: "DELETE",
  });
  return purged;
}
