/**
 * A consumption: one handler consuming one queue (docs/protocol.md §3 `queue:consume`, §4 `queue:message`,
 * §5). Each delivery whose `consumer` is this consumption's goes to the handler; when the handler
 * resolves the SDK acks the delivery, when it throws or rejects the SDK nacks it (requeue, after
 * `nackDelayMs`), and while it runs the SDK keeps its lease alive (`autoExtend`).
 *
 * Invariants: a consumption is active from `queue.consume()` until `cancel()`; after every reconnect an
 * active one registers again with the same options (a node forgets a socket's consumers when it goes)
 * and its new consumer id maps to the same handler. Deliveries that reach the socket before the node's
 * answer to a registration (Socket.IO may carry both in one batch) are kept until the answer names their
 * consumer. Nothing a delivery, an ack, a nack or an extend does is thrown out of a socket listener: a
 * failure is reported to the client's `consumeError` listeners. A stale receipt (its lease had ended,
 * e.g. the connection was lost) changes nothing on the node; the message is, or was, delivered again.
 *
 * It does not ack or nack for a handler that never settles (the lease ends with the connection), nor for
 * any handler with `autoAck: false` (the caller settles by receipt), and it does not report the handler's
 * own errors: a failed handler is a retry, seen as the next `attempt`.
 */

import {
  MailroomError,
  QUEUE_DEFAULTS,
  QUEUE_LIMITS,
  type QueueConsumeArgs,
  type QueueNackArgs,
} from "@mailroom/protocol";
import { AckBatcher } from "./ack-batcher.js";
import { beforeClose, type Closable, type HandleContext, type Resumable, resume } from "./handle.js";
import { keepLeaseAlive } from "./lease-keeper.js";
import { type Delivery, type ReceivedMessage, readDelivery } from "./received-message.js";

/**
 * Handles one delivery. Resolving acks it; throwing or rejecting makes it ready again (after
 * `nackDelayMs`), with the next `attempt`.
 * @example
 * const handler: MessageHandler<Order> = async (message) => {
 *   await ship(message.data);
 * };
 */
export type MessageHandler<Data = unknown> = (message: ReceivedMessage<Data>) => Promise<void> | void;

export interface ConsumeOptions<Data = unknown> {
  /** How many deliveries may be unacked at once, and so how many handlers run at once: 1-1000. @default 10 */
  prefetch?: number;
  /**
   * Each delivery's lease, in ms (1000-43200000): unacked after that, the message is ready again. With
   * `autoExtend` (the default) the SDK sends 30000 when none is given, since it must know the lease it
   * keeps alive; with `autoExtend: false` none is sent and the node's configured default applies.
   * @default 30000
   */
  visibilityMs?: number;
  /**
   * How long a message whose handler failed waits before it is ready again, in ms (0-604800000), or a
   * function of the message that gives it (a backoff by `attempt`). 0 puts it back at the head at once.
   * @default 0
   */
  nackDelayMs?: number | ((message: ReceivedMessage<Data>) => number);
  /**
   * Whether the SDK extends the lease of a delivery whose handler is still running, every half
   * `visibilityMs`, by `visibilityMs`, until the handler settles.
   * @default true
   */
  autoExtend?: boolean;
  /**
   * Whether the SDK settles each delivery when its handler settles (ack on resolve, nack on throw).
   * `false` leaves every delivery to the caller, who acks or nacks it by its receipt with `queue.ack` /
   * `queue.nack` (and awaits the node's answer), or lets its lease end; the handler's outcome then changes
   * nothing. The lease is still kept alive while the handler runs (`autoExtend`), not after.
   * @default true
   * @example
   * const held: ReceivedMessage[] = [];
   * await orders.consume((message) => void held.push(message), { autoAck: false, prefetch: 100 });
   * // later, confirmed by the node:
   * await orders.ack(held.map((message) => message.receipt));
   */
  autoAck?: boolean;
}

/** What a consumption was doing when it failed. */
export type ConsumeOperation = "consume" | "cancel" | "ack" | "nack" | "extend";

/** Where a `consumeError` comes from: the operation, its consumption, and the delivery it concerned. */
export interface ConsumeFailure {
  operation: ConsumeOperation;
  consumption: Consumption;
  /** The delivery being acked, nacked or extended; none for `consume` and `cancel`. */
  message?: ReceivedMessage;
}

/** What a queue handle gives its consumptions: the client's context, and where failures go. */
export interface QueueContext extends HandleContext {
  readonly reportConsumeError: (error: MailroomError, failure: ConsumeFailure) => void;
}

/** The hook a queue calls once on a new consumption: its first registration. Internal, like `resume`. */
export const start: unique symbol = Symbol("mailroom.consumption.start");

/** A consumption's options with the SDK's defaults merged in and checked once. */
interface ConsumeSettings<Data> {
  consumeArgs: QueueConsumeArgs;
  nackDelayMs: ConsumeOptions<Data>["nackDelayMs"];
  /** The lease to keep alive, when the SDK extends leases. */
  autoExtendMs: number | undefined;
  /** Whether the SDK acks or nacks each delivery by its handler's outcome. */
  autoAck: boolean;
}

/**
 * One handler consuming one queue; `queue.consume(handler, options)` makes it.
 * @example
 * const consumption = await client.queue("orders").consume(async (message) => ship(message.data));
 * // later
 * await consumption.cancel();
 */
export class Consumption<Data = unknown> implements Resumable, Closable {
  private consumerId = "";
  private isCancelled = false;
  private isDetached = false;
  /** `queue:consume` commands sent and not yet answered. */
  private pendingRegistrations = 0;
  /** Deliveries of this queue to a consumer not yet known, kept while a registration is pending. */
  private early: Delivery<Data>[] = [];
  private readonly settings: ConsumeSettings<Data>;
  /** The handlers' acks, sent together (ack-batcher.ts). */
  private readonly acks: AckBatcher;
  /** Deliveries handed to the handler and not yet settled (acked or nacked, and answered). */
  private unsettled = 0;

  /**
   * Made by `queue.consume(handler, options)`; not meant to be constructed directly.
   * @example
   * const consumption = await client.queue("orders").consume(handler, { prefetch: 5 });
   */
  constructor(
    /**
     * The name of the queue it consumes.
     * @example
     * consumption.queue; // "orders"
     */
    readonly queue: string,
    private readonly handler: MessageHandler<Data>,
    options: ConsumeOptions<Data>,
    private readonly context: QueueContext,
    private readonly onDetached: (consumption: Consumption<Data>) => void,
  ) {
    this.settings = consumeSettings(queue, options);
    const halfPrefetch = Math.ceil((options.prefetch ?? QUEUE_DEFAULTS.prefetch) / 2);
    this.acks = new AckBatcher(queue, context.send, () => this.unsettled < halfPrefetch);
    context.socket.on("queue:message", this.onDelivery);
    context.socket.on("queue:messages", this.onDeliveries);
  }

  /**
   * The consumer id the node gave this consumption; a new one after each reconnect.
   * @example
   * console.log(`consuming orders as ${consumption.consumer}`);
   */
  get consumer(): string {
    return this.consumerId;
  }

  /**
   * Whether it still consumes as far as the client knows: true until `cancel()` is called.
   * @example
   * await consumption.cancel();
   * consumption.active; // false
   */
  get active(): boolean {
    return !this.isCancelled;
  }

  /**
   * Stops new deliveries to this consumption, on the node and after every later reconnect. Handlers
   * already running finish, and their deliveries are still acked or nacked; deliveries the node sent
   * before it stopped are still handled. A consumer the node no longer knows (its connection was lost)
   * counts as stopped. Rejects with `UNAVAILABLE` when the node cannot answer now; it stays cancelled on
   * the client's side, and calling `cancel()` again retries.
   * @example
   * await consumption.cancel();
   */
  async cancel(): Promise<void> {
    this.isCancelled = true;
    if (this.isDetached) return;
    await this.stopConsumer(this.consumerId);
  }

  /** The client closes: the acks that wait for company go now, while the socket is open. */
  [beforeClose](): void {
    this.acks.flushNow();
  }

  /** The first registration: on failure the consumption never was, and stops listening. */
  async [start](): Promise<void> {
    try {
      await this.register();
    } catch (error) {
      this.detach();
      throw error;
    }
  }

  /** After a reconnect: registers again if active; a cancelled one has nothing left to receive. */
  async [resume](): Promise<void> {
    if (this.isCancelled) {
      this.detach();
      return;
    }
    try {
      await this.register();
    } catch (error) {
      this.report(error, "consume");
      return;
    }
    // Cancelled while registering: the new consumer is not wanted.
    if (this.isCancelled) await this.stopConsumer(this.consumerId).catch((error) => this.report(error, "cancel"));
  }

  private async register(): Promise<void> {
    this.pendingRegistrations += 1;
    try {
      const { consumer } = await this.context.send("queue:consume", this.settings.consumeArgs);
      this.consumerId = consumer;
      for (const delivery of this.takeEarly(consumer)) void this.handle(delivery.message);
    } finally {
      this.pendingRegistrations -= 1;
      if (this.pendingRegistrations === 0) this.early = [];
    }
  }

  /** Sends `queue:cancel`; stops listening once nothing more can arrive for this consumption. */
  private async stopConsumer(consumer: string): Promise<void> {
    try {
      await this.context.send("queue:cancel", { consumer });
    } catch (error) {
      // NOT_FOUND: the node has no such consumer on this connection, so it delivers nothing more.
      if (!(error instanceof MailroomError && error.code === "NOT_FOUND")) throw error;
    }
    if (this.pendingRegistrations === 0 && consumer === this.consumerId) this.detach();
  }

  private detach(): void {
    if (this.isDetached) return;
    this.isDetached = true;
    this.context.socket.off("queue:message", this.onDelivery);
    this.context.socket.off("queue:messages", this.onDeliveries);
    this.onDetached(this);
  }

  private readonly onDelivery = (raw: unknown): void => {
    const delivery = readDelivery<Data>(raw);
    if (!delivery || delivery.message.queue !== this.queue) return;
    if (delivery.consumer === this.consumerId) void this.handle(delivery.message);
    else if (this.pendingRegistrations > 0) this.early.push(delivery);
  };

  /** Several deliveries at once: the SDK registers with `batch: true`, which sends a pull's deliveries so. */
  private readonly onDeliveries = (raw: unknown): void => {
    if (!Array.isArray(raw)) return;
    for (const delivery of raw) this.onDelivery(delivery);
  };

  private takeEarly(consumer: string): Delivery<Data>[] {
    const mine = this.early.filter((delivery) => delivery.consumer === consumer);
    this.early = this.early.filter((delivery) => delivery.consumer !== consumer);
    return mine;
  }

  /**
   * Runs the handler, keeping the lease alive meanwhile, then acks or nacks (unless the caller settles:
   * `autoAck: false`). Never rejects.
   */
  private async handle(message: ReceivedMessage<Data>): Promise<void> {
    this.unsettled += 1;
    try {
      await this.handleAndSettle(message);
    } finally {
      this.unsettled -= 1;
    }
  }

  private async handleAndSettle(message: ReceivedMessage<Data>): Promise<void> {
    const stopExtending = this.keepAlive(message);
    let failed = false;
    try {
      await this.handler(message);
    } catch {
      failed = true;
    } finally {
      stopExtending();
    }
    if (!this.settings.autoAck) return;
    if (failed) await this.nack(message);
    else await this.ack(message);
  }

  private keepAlive(message: ReceivedMessage<Data>): () => void {
    const visibilityMs = this.settings.autoExtendMs;
    if (visibilityMs === undefined) return () => {};
    return keepLeaseAlive({
      visibilityMs,
      extend: (extendMs) =>
        this.context.send("queue:extend", { queue: this.queue, receipt: message.receipt, visibilityMs: extendMs }),
      onError: (error) => this.report(error, "extend", message),
    });
  }

  private async ack(message: ReceivedMessage<Data>): Promise<void> {
    try {
      const stale = await this.acks.ack(message.receipt);
      if (stale) this.report(staleReceiptError(message), "ack", message);
    } catch (error) {
      this.report(error, "ack", message);
    }
  }

  private async nack(message: ReceivedMessage<Data>): Promise<void> {
    const args: QueueNackArgs = { queue: this.queue, receipt: message.receipt, requeue: true };
    const delayMs = this.nackDelayFor(message);
    if (delayMs !== undefined && delayMs > 0) args.delayMs = delayMs;
    try {
      await this.context.send("queue:nack", args);
    } catch (error) {
      this.report(error, "nack", message);
    }
  }

  /** The backoff before a failed message is ready again; a bad one is reported and becomes none. */
  private nackDelayFor(message: ReceivedMessage<Data>): number | undefined {
    const { nackDelayMs } = this.settings;
    if (typeof nackDelayMs !== "function") return nackDelayMs;
    let delayMs: unknown;
    try {
      delayMs = nackDelayMs(message);
    } catch (error) {
      this.report(
        new MailroomError("BAD_REQUEST", "nackDelayMs threw: the message is requeued without delay", { cause: error }),
        "nack",
        message,
      );
      return undefined;
    }
    const problem = nackDelayProblem(delayMs);
    if (problem === undefined) return delayMs as number;
    this.report(new MailroomError("BAD_REQUEST", `${problem}: the message is requeued without delay`), "nack", message);
    return undefined;
  }

  private report(error: unknown, operation: ConsumeOperation, message?: ReceivedMessage<Data>): void {
    const reported =
      error instanceof MailroomError ? error : new MailroomError("INTERNAL", `${operation} failed`, { cause: error });
    const failure: ConsumeFailure = { operation, consumption: this as Consumption };
    if (message) failure.message = message;
    this.context.reportConsumeError(reported, failure);
  }
}

/** Merges the SDK's defaults into a consumption's options; a static `nackDelayMs` out of range throws. */
function consumeSettings<Data>(queue: string, options: ConsumeOptions<Data>): ConsumeSettings<Data> {
  const { prefetch, visibilityMs, nackDelayMs, autoExtend = true, autoAck = true } = options;
  if (typeof nackDelayMs === "number") {
    const problem = nackDelayProblem(nackDelayMs);
    if (problem) throw new MailroomError("BAD_REQUEST", problem);
  }
  // One event per pull rather than one per message: fewer frames for the node and for this client.
  const consumeArgs: QueueConsumeArgs = { queue, batch: true };
  if (prefetch !== undefined) consumeArgs.prefetch = prefetch;
  const leaseMs = autoExtend ? (visibilityMs ?? QUEUE_DEFAULTS.visibilityMs) : visibilityMs;
  if (leaseMs !== undefined) consumeArgs.visibilityMs = leaseMs;
  return { consumeArgs, nackDelayMs, autoExtendMs: autoExtend ? leaseMs : undefined, autoAck };
}

function nackDelayProblem(delayMs: unknown): string | undefined {
  if (Number.isInteger(delayMs) && (delayMs as number) >= 0 && (delayMs as number) <= QUEUE_LIMITS.maxDelayMs) {
    return undefined;
  }
  return `nackDelayMs must be an integer from 0 to ${QUEUE_LIMITS.maxDelayMs} ms, got ${String(delayMs)}`;
}

function staleReceiptError(message: ReceivedMessage): MailroomError {
  return new MailroomError(
    "NOT_FOUND",
    `the lease of message ${message.id} (attempt ${message.attempt}) had ended before its ack ` +
      "(it expired, or the connection was lost): the message is delivered again",
  );
}
