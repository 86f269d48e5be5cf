/**
 * A queue handle: the queue commands of docs/protocol.md §3 for one queue name, and its consumptions (§4, §5).
 * `consume` is the usual way to receive: it acks, nacks and extends leases for the handler. `ack`, `nack`
 * and `extend` are the same commands by hand, for receipts the caller manages itself.
 *
 * The handle does not check names or ranges the node checks (it answers with the contract's codes), and it
 * does not retry: a send that fails with `UNAVAILABLE` may be sent again, and with an `id` the node keeps
 * it from being stored twice (deduplication).
 */
import type {
  AckResult,
  NackResult,
  OutgoingMessage,
  PurgeResult,
  QueueAckArgs,
  QueueNackArgs,
  QueueStats,
  RedriveResult,
  SendResult,
} from "@mailroom/protocol";
import { type ConsumeOptions, Consumption, type MessageHandler, type QueueContext, start } from "./consumption.js";
import { beforeClose, type Closable, type Resumable, resume } from "./handle.js";

export interface SendOptions {
  /**
   * The message's id (1-128 of `[A-Za-z0-9_.:-]`): a send with an id the queue still holds, or accepted
   * within the dedup window, is answered `duplicate: true` and not stored again. @default a node-chosen UUID
   */
  id?: string;
  /** String headers delivered with the message: at most 64 entries, 8 KiB together. @default {} */
  headers?: Record<string, string>;
  /** How long the message is held back before it is ready, in ms (0-604800000). @default 0 */
  delayMs?: number;
  /** How long after acceptance an undelivered message is discarded, in ms (1000-1209600000). @default never */
  ttlMs?: number;
  /** Deliveries that may end without an ack before the message goes to `<queue>.dlq` (1-1000). @default 5 */
  maxAttempts?: number;
  /**
   * The message's group (1-128 of `[A-Za-z0-9_.:-]`): a group's messages are delivered in send order, one
   * at a time across every consumer (docs/protocol.md §11). @default none
   */
  group?: string;
  /** 0-9: a higher priority is delivered first, never ahead of an earlier message of its group. @default 0 */
  priority?: number;
}

/** One message of `sendBatch`: its data and the options of `send`. */
export interface BatchMessage<Data = unknown> extends SendOptions {
  /** Any JSON value or binary (`Uint8Array`, `ArrayBuffer`); `null` is a value. */
  data: Data;
}

export interface NackOptions {
  /** Whether the message is ready again (true) or moved to `<queue>.dlq` (false). @default true */
  requeue?: boolean;
  /** With `requeue`, how long it waits before it is ready again, in ms (0-604800000). @default 0 */
  delayMs?: number;
}

/**
 * One queue of one client; `client.queue(name)` returns the same handle for the same name.
 * @example
 * const orders = client.queue<Order>("orders");
 * await orders.send({ sku: "A-1", quantity: 2 }, { headers: { "trace-id": traceId } });
 * await orders.consume(async (message) => ship(message.data), { prefetch: 5 });
 */
export class Queue<Data = unknown> implements Resumable, Closable {
  private readonly consumptions = new Set<Consumption<Data>>();

  /**
   * Made by `client.queue(name)`; not meant to be constructed directly.
   * @example
   * const orders = client.queue("orders");
   */
  constructor(
    /**
     * The queue's name, as given to `client.queue`.
     * @example
     * client.queue("orders").name; // "orders"
     */
    readonly name: string,
    private readonly context: QueueContext,
  ) {}

  /**
   * Sends one message; resolves once the node has stored it, with its id and whether it was a duplicate.
   * `data` is any JSON value or binary (`Uint8Array`, `ArrayBuffer`). Rejects with `INVALID_NAME`,
   * `BAD_REQUEST`, `PAYLOAD_TOO_LARGE`, `FORBIDDEN` or `UNAVAILABLE` (not acknowledged, yet it may have been
   * stored, e.g. by a Redis that hung and then woke: retry with the same `id`, which deduplication makes safe).
   * @example
   * const { id, duplicate } = await orders.send({ sku: "A-1" }, { id: "order-1042", delayMs: 5000 });
   */
  send(data: Data, options: SendOptions = {}): Promise<SendResult> {
    return this.context.send("queue:send", { queue: this.name, ...outgoing({ ...options, data }) });
  }

  /**
   * Sends 1-1000 messages at once, all or nothing: one invalid message refuses the batch. Resolves with
   * one `{ id, duplicate }` per message, in order; they are delivered in that order.
   * @example
   * const results = await orders.sendBatch([{ data: { sku: "A-1" } }, { data: { sku: "B-2" }, id: "order-1043" }]);
   */
  async sendBatch(messages: readonly BatchMessage<Data>[]): Promise<SendResult[]> {
    const { results } = await this.context.send("queue:sendBatch", {
      queue: this.name,
      messages: messages.map(outgoing),
    });
    return results;
  }

  /**
   * Starts consuming: resolves once the node has registered the consumer, then calls `handler` with each
   * delivery (up to `prefetch` at once). A handler that resolves acks its delivery; one that throws or
   * rejects makes the message ready again, after `nackDelayMs`, with the next `attempt`. While a handler
   * runs, the SDK extends its lease every half `visibilityMs` (unless `autoExtend: false`). After every
   * reconnect the consumption registers again by itself, until `cancel()`. Failed acks, nacks, extends and
   * re-registrations are reported to the client's `consumeError` listeners, never thrown.
   * Rejects with `INVALID_NAME`, `BAD_REQUEST`, `FORBIDDEN` or `UNAVAILABLE`.
   * @example
   * const consumption = await orders.consume(
   *   async (message) => {
   *     await ship(message.data);
   *   },
   *   { prefetch: 5, visibilityMs: 60_000, nackDelayMs: (message) => 1000 * 2 ** message.attempt },
   * );
   */
  async consume(handler: MessageHandler<Data>, options: ConsumeOptions<Data> = {}): Promise<Consumption<Data>> {
    const consumption = new Consumption(this.name, handler, options, this.context, (stopped) =>
      this.consumptions.delete(stopped),
    );
    await consumption[start]();
    this.consumptions.add(consumption);
    return consumption;
  }

  /**
   * Counts the queue's messages now, on every node: `ready`, `inflight`, `delayed`, `deadLettered` (in
   * `<queue>.dlq`), and its live `consumers`.
   * @example
   * const { ready, inflight, consumers } = await orders.stats();
   */
  stats(): Promise<QueueStats> {
    return this.context.send("queue:stats", { queue: this.name });
  }

  /**
   * Drops the queue's ready and delayed messages (in-flight ones stay), and resolves with how many.
   * Needs the admin right (`FORBIDDEN` without it).
   * @example
   * const { purged } = await orders.purge();
   */
  purge(): Promise<PurgeResult> {
    return this.context.send("queue:purge", { queue: this.name });
  }

  /**
   * Moves every ready and delayed message of `<queue>.dlq` to the tail of this queue, with `attempt`
   * starting again at 1, and resolves with how many. Needs the admin right (`FORBIDDEN` without it).
   * @example
   * const { moved } = await orders.redrive();
   */
  redrive(): Promise<RedriveResult> {
    return this.context.send("queue:redrive", { queue: this.name });
  }

  /**
   * Acks one receipt or 1-1000 of them by hand. A receipt whose lease has ended is listed in `stale` and
   * changes nothing. Deliveries to `consume` handlers are acked by the SDK: this is for the rest.
   * @example
   * const { acked, stale } = await orders.ack([first.receipt, second.receipt]);
   */
  ack(receipts: string | readonly string[]): Promise<AckResult> {
    const args: QueueAckArgs =
      typeof receipts === "string"
        ? { queue: this.name, receipt: receipts }
        : { queue: this.name, receipts: [...receipts] };
    return this.context.send("queue:ack", args);
  }

  /**
   * Ends a delivery without an ack, by hand: the message is ready again (after `delayMs`), or goes to
   * `<queue>.dlq` with `requeue: false` or when it was its last attempt. Resolves with whether it was
   * dead-lettered; rejects with `NOT_FOUND` for a receipt whose lease has ended.
   * @example
   * const { deadLettered } = await orders.nack(message.receipt, { requeue: true, delayMs: 10_000 });
   */
  nack(receipt: string, options: NackOptions = {}): Promise<NackResult> {
    const args: QueueNackArgs = { queue: this.name, receipt };
    if (options.requeue !== undefined) args.requeue = options.requeue;
    if (options.delayMs !== undefined) args.delayMs = options.delayMs;
    return this.context.send("queue:nack", args);
  }

  /**
   * Sets a delivery's lease to end `visibilityMs` from now (1000-43200000), by hand. Rejects with
   * `NOT_FOUND` for a receipt whose lease has ended. `consume` extends its handlers' leases by itself.
   * @example
   * await orders.extend(message.receipt, 120_000);
   */
  async extend(receipt: string, visibilityMs: number): Promise<void> {
    await this.context.send("queue:extend", { queue: this.name, receipt, visibilityMs });
  }

  /** The client closes: each consumption sends the acks it holds back. */
  [beforeClose](): void {
    for (const consumption of this.consumptions) consumption[beforeClose]();
  }

  /** After a reconnect: every active consumption registers again (each reports its own failure). */
  async [resume](): Promise<void> {
    await Promise.all([...this.consumptions].map((consumption) => consumption[resume]()));
  }
}

/** A message as the node takes it: only the fields the contract names, and only those given. */
function outgoing(message: BatchMessage): OutgoingMessage {
  const { data, id, headers, delayMs, ttlMs, maxAttempts, group, priority } = message;
  const result: OutgoingMessage = { data };
  if (id !== undefined) result.id = id;
  if (headers !== undefined) result.headers = headers;
  if (delayMs !== undefined) result.delayMs = delayMs;
  if (ttlMs !== undefined) result.ttlMs = ttlMs;
  if (maxAttempts !== undefined) result.maxAttempts = maxAttempts;
  if (group !== undefined) result.group = group;
  if (priority !== undefined) result.priority = priority;
  return result;
}
