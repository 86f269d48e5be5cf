/**
 * The queue engine: where a node keeps its queues. One interface, a Redis and a memory implementation.
 *
 * Guarantees every implementation gives (docs/protocol.md §5):
 * - `send` resolves only once the messages are in the store (accepted means durable, for Redis: the write
 *   returned); when the store is unreachable it rejects with `UNAVAILABLE`, never a false success.
 * - At least once: a message stays until acked, dead-lettered or expired. A delivery holds one lease of
 *   `visibilityMs` (counted by the store's clock, never a node's); at most one lease per message at a time.
 * - A lease that ends without an ack (expiry, `release`, `nack` without delay) puts the message back at the
 *   head of its queue, several at once in their acceptance order; the delivery after it has `attempt` + 1.
 *   When the ended delivery's attempt equals `maxAttempts`, the message goes to `<queue>.dlq` instead
 *   (attempt from 1 there); one that ends so in a `.dlq` queue is discarded and counted.
 * - First deliveries leave in acceptance order. Delayed messages join the tail when due. A message whose
 *   TTL has passed is discarded when met, and counted.
 * - Groups and priorities (docs/protocol.md §11): a higher priority leaves first (strictly); within a
 *   priority, takes go round robin across the groups with a message free to go, ungrouped messages being
 *   one lane of the rotation; a group has at most one message out at a time (leased, or requeued with a
 *   delay), in acceptance order, and a lease that ends puts it back at the head of its group. Every way a
 *   message leaves frees its group. In a `.dlq` queue messages keep their group and priority as facts but
 *   leave in plain order; a redrive puts each at the tail of its group.
 * - A producer's id is deduplicated while the queue holds it and for `dedupWindowMs` after its first
 *   acceptance; a duplicate is answered as such and not stored.
 * - A receipt that matches no current lease changes nothing: `ack` lists it as stale, `nack` and `extend`
 *   reject with `NOT_FOUND`.
 * - Every queue it holds messages for is in its queue registry (queue-registry.ts): it registers a queue
 *   when it is sent to (before the send is stored), watched (consumed), dead-lettered into or redriven
 *   into, so `listQueues` walks the registry, never the whole store.
 * - Push delivery (optional: the Redis engine does it, the memory engine need not): a receive that leaves
 *   the queue empty may leave `standingCredit` standing for this node's consumers of that visibility; later
 *   sends then lease up to that many messages straight to the node (a watch's `pushed`), as a receive would
 *   have. The node gives back what none of its consumers will take (`giveBack`: no attempt counted)
 *   and withdraws the credit when those consumers go (`withdraw`). Credit never grows but by a receive, and
 *   a node that dies holds at most what it left standing, as with the deliveries it pulled. A lease carries
 *   its acceptance order (`seq`), by which a node merges what it pulls with what is pushed to it; a
 *   receive answers only once the node heard the pushes sent to it before the receive ran (they travel on
 *   another connection), so a pull never overtakes a push.
 * What it does not do: know consumers, sockets or prefetch (consumer-dispatcher.ts does).
 */
import type { DeadLetterReason, QueueStats } from "@mailroom/protocol";

export interface QueueAddress {
  namespace: string;
  queue: string;
}

/** A message to store: its body is the encoded data and headers (message-codec.ts). */
export interface NewMessage {
  id: string;
  /** Whether the producer chose the id: only those are deduplicated by the window. */
  chosenByProducer: boolean;
  body: Buffer;
  delayMs: number;
  /** 0: never expires. */
  ttlMs: number;
  maxAttempts: number;
  /** §11: its group, if any: one of its messages in flight at a time, in acceptance order. */
  group?: string | undefined;
  /** §11: 0–9, higher first. @default 0 */
  priority?: number | undefined;
}

export interface Lease {
  id: string;
  receipt: string;
  attempt: number;
  enqueuedAt: number;
  /** Acceptance order within the queue (shared with its `.dlq`): pushes and pulls are merged by it. */
  seq: number;
  reason?: DeadLetterReason;
  /** §11: present when the message has a group, or a priority above 0. */
  group?: string;
  priority?: number;
  body: Buffer;
}

/** Leases a send pushed straight to this node's consumers of one visibility (see push delivery above). */
export interface PushedLeases {
  visibilityMs: number;
  leases: Lease[];
}

/** A message as a peek shows it (docs/protocol.md §12): `attempt` counts its deliveries so far. */
export type PeekedMessage = Omit<Lease, "receipt" | "seq">;

/** Which messages a peek reads. */
export type PeekState = "ready" | "delayed" | "inflight";

export interface ReceiveResult {
  leases: Lease[];
  /** How many messages stay ready that may be taken now (0 when only messages of groups out wait): to know whether to pull again. */
  remaining: number;
}

/**
 * Told of messages that left a queue without an ack, by the node whose store call ended them (a receive
 * that met expired messages, a nack, a release or a lease sweep): the per-node counters of metrics.
 */
export interface QueueOutcomes {
  deadLettered(address: QueueAddress, count: number): void;
  expired(address: QueueAddress, count: number): void;
}

/** The default: nobody listens. */
export const IGNORED_OUTCOMES: QueueOutcomes = { deadLettered() {}, expired() {} };

/**
 * A queue's counts, and its running totals: expired and discarded messages, messages accepted (`sent`) and
 * acks (`acked`), cluster-wide, from which the dashboard draws rates (docs/protocol.md §12).
 */
export type EngineStats = Omit<QueueStats, "consumers"> & {
  expired: number;
  discarded: number;
  sent: number;
  acked: number;
};

/** How many live consumers each of these queues of the namespace has, in the same order (the cluster's count). */
export type ConsumerCounts = (namespace: string, queues: string[]) => Promise<number[]>;

/** A queue of a listing, with its stats and running totals (the HTTP list shows the stats only). */
export type ListedQueue = QueueStats & { name: string; sent: number; acked: number };

export interface QueueListing {
  /** Sorted by name; at most `MAX_LISTED_QUEUES` (queue-listing.ts). */
  queues: ListedQueue[];
  /** Whether the namespace has more queues to list than these. */
  truncated: boolean;
}

export interface QueueEngine {
  /** Stores messages, all or none; resolves with a duplicate flag per message. */
  send(address: QueueAddress, messages: NewMessage[]): Promise<boolean[]>;
  /**
   * Leases up to `max` ready messages for `visibilityMs`; with a `byteBudget` (bytes, 0 = none), stops
   * once the bodies of the messages leased add up to it (the first is always leased). With a
   * `standingCredit` (0 = none), see push delivery above.
   */
  receive(
    address: QueueAddress,
    max: number,
    visibilityMs: number,
    byteBudget?: number,
    standingCredit?: number,
  ): Promise<ReceiveResult>;
  /**
   * With `mayWait`, the engine may hold the acks up to a few ms to settle them with others in one store
   * call (the Redis engine: ACK_LINGER_MS); without, they go after this turn of the event loop.
   */
  ack(address: QueueAddress, receipts: string[], mayWait?: boolean): Promise<{ acked: number; stale: string[] }>;
  /** Rejects with `NOT_FOUND` for a stale receipt. */
  nack(address: QueueAddress, receipt: string, requeue: boolean, delayMs: number): Promise<{ deadLettered: boolean }>;
  /** Rejects with `NOT_FOUND` for a stale receipt. */
  extend(address: QueueAddress, receipt: string, visibilityMs: number): Promise<void>;
  /** Ends these leases now, as if they had expired (their consumer is gone). Stale receipts are ignored. */
  release(address: QueueAddress, receipts: string[]): Promise<void>;
  stats(address: QueueAddress): Promise<EngineStats>;
  /**
   * Up to `limit` messages in that state, leasing and changing nothing: ready ones oldest accepted first,
   * delayed ones soonest due first, in-flight ones soonest deadline first.
   */
  peek(address: QueueAddress, state: PeekState, limit: number): Promise<PeekedMessage[]>;
  /** Drops ready and delayed messages; returns how many. */
  purge(address: QueueAddress): Promise<number>;
  /** Moves ready and delayed messages of `<queue>.dlq` to the tail of the queue; returns how many. */
  redrive(address: QueueAddress): Promise<number>;
  /**
   * The queue list of docs/protocol.md §13 (queue-listing.ts): the namespace's queues that hold messages, have
   * consumers (as `consumers` counts them) or were sent to within 24 hours, with their stats, sorted by
   * name, at most 1000. It walks the queue registry, whose idle entries it forgets on the way: its cost
   * grows with the namespace's queues, never with the store's keys.
   */
  listQueues(namespace: string, consumers: ConsumerCounts): Promise<QueueListing>;
  /** The namespaces whose queue registry has had queues (docs/protocol.md §12: `/v1/namespaces`). */
  queueNamespaces(): Promise<string[]>;
  /**
   * Calls `listener` when messages may have become ready in the queue (sent, requeued, due), on any node.
   * Wake-ups may be lost or repeated: callers also poll now and then. Returns the unsubscribe function.
   * A watched queue is being consumed: it stays in the queue registry while watched. `pushed` hears the
   * leases sends push to this node (push delivery); an engine that pushes nothing never calls it.
   */
  watch(address: QueueAddress, listener: () => void, pushed?: (delivery: PushedLeases) => void): () => void;
  /**
   * Ends leases that no consumer saw (pulled or pushed, then nobody could take them): back at the head of
   * the queue in acceptance order, no attempt counted; withdraws this node's standing credit for that
   * visibility. Stale receipts are ignored.
   */
  giveBack(address: QueueAddress, visibilityMs: number, receipts: string[]): Promise<void>;
  /** Withdraws this node's standing credit for consumers of that visibility (they went). */
  withdraw(address: QueueAddress, visibilityMs: number): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}
