/**
 * A room handle: the room commands of docs/protocol.md §3 and §10 and the room broadcasts of §4, for one
 * room name.
 *
 * Membership as the client sees it: a room is joined from the moment `join()` is called until `leave()`
 * is called or that join fails; after a reconnect the client re-joins every joined room (a node forgets a
 * socket's rooms when it goes). Joins and leaves of one room go to the node one at a time, in call order.
 *
 * Recovery (§10): the handle keeps its position in the room's history, the epoch and offset of the last
 * publication it delivered (room-position.ts), and joins with `since` = that position, after a reconnect
 * to any node as for `join()` after `leave()`, so the node replays what was missed before it answers. A
 * publication at or before the position is a duplicate and reaches no handler. While a join that may
 * replay is under way, the room's broadcasts wait for its answer, then go to the handlers in the order
 * they came: after the `onReset` handlers when the node refused the recovery (or a publication shows that
 * the room's history was lost), so an application reloads its state first and then applies what follows.
 *
 * The client hands the handle every broadcast whose `meta.room` is this room (Socket.IO delivers a
 * broadcast under its event name to the whole socket, whatever the room); one without meta (a stock
 * emitter's) reaches none (emitter-meta.ts says why and what to send), and one whose meta has no offset
 * (an emitter's, a node without history) is delivered without changing the position.
 * The handle does not check names: the node does, and answers with the contract's codes.
 */
import {
  type BroadcastMeta,
  isReservedEvent,
  MailroomError,
  type RoomJoinArgs,
  type RoomJoinResult,
  type RoomMembersResult,
  type RoomPosition,
  type RoomPublishArgs,
  type RoomPublishResult,
} from "@mailroom/protocol";
import { asDelivered } from "./delivered-data.js";
import { type HandleContext, type Resumable, resume } from "./handle.js";
import type { StoredPosition } from "./position-storage.js";
import { RoomPositionTracker } from "./room-position.js";

/**
 * The events a room carries and the data of each, for typing `publish` and `on`; any name with any data
 * (`unknown`) unless a map is given.
 * @example
 * type ChatEvents = { message: { text: string }; typing: { user: string } };
 * const chat = client.room<ChatEvents>("chat/general");
 */
export type RoomEvents = Record<string, unknown>;

export interface PublishOptions {
  /** Whether this client receives its own publish when it is a member of the room. @default false */
  echo?: boolean;
}

export interface JoinOptions {
  /**
   * Where to recover from: the position of the last publication the application holds (a `room.position`
   * it saved, or a `meta`'s `epoch` and `offset`). The node replays what came after it before it answers,
   * or answers `recovered: false` and the `onReset` handlers are called. A publication the handle has
   * delivered already is not delivered again. @default `room.position`, when the handle has one
   */
  since?: RoomPosition;
  /**
   * How many of the room's last publications (0-100) the node replays first, oldest first, when the join
   * recovers nothing: the handle has no position, or the recovery was refused (then after the `onReset`
   * handlers). @default 0
   */
  rewind?: number;
}

/** Receives one broadcast: its data and `meta = { room, id, ts, from?, offset?, epoch? }`. */
export type BroadcastHandler<Data> = (data: Data, meta: BroadcastMeta) => void;

/**
 * Receives one broadcast under any event name: the name, its data and `meta`. The data is `unknown`:
 * whatever a room's event map says, any publisher may use any name.
 */
export type AnyBroadcastHandler = (event: string, data: unknown, meta: BroadcastMeta) => void;

/**
 * Called when the handle could not get every publication it missed: the node refused a recovery (another
 * epoch, a history trimmed past the position, too many missed) or a publication shows that the room's
 * history was lost. The application reloads its state; the publications that follow come after the call.
 */
export type ResetHandler<Events extends RoomEvents = RoomEvents> = (room: Room<Events>) => void;

/** The hook by which the client hands a room handle each broadcast whose `meta.room` is its room. */
export const receive: unique symbol = Symbol("mailroom.receive");

/** One broadcast as the client hands it to a room handle. */
interface Broadcast {
  event: string;
  data: unknown;
  meta: BroadcastMeta;
}

type Registration = (data: unknown, meta: BroadcastMeta) => void;

/**
 * One room of one client; `client.room(name)` returns the same handle for the same name.
 * @example
 * const room = client.room("chat/general");
 * room.on("message", (data, meta) => console.log(meta.room, data));
 * room.onReset(() => reloadMessages());
 * await room.join();
 * await room.publish("message", { text: "hello" });
 */
export class Room<Events extends RoomEvents = RoomEvents> implements Resumable {
  private isJoined = false;
  /** Counts joins and leaves, so a failed join only undoes itself, not a later call. */
  private membershipChanges = 0;
  /** The id of the socket the node last answered a join on, until a leave: that socket is in the room. */
  private memberSocket: string | undefined;
  /** The room's joins and leaves, one at a time in call order: the last one, and how many are under way. */
  private lastTurn: Promise<unknown> = Promise.resolve();
  private turnsUnderWay = 0;
  /** Broadcasts that wait for the answer of a join that may replay; undefined while none is under way. */
  private held: Broadcast[] | undefined;
  private lastRecovered: boolean | undefined;
  private readonly tracker: RoomPositionTracker;
  private readonly handlers = new Map<string, Set<Registration>>();
  private readonly anyHandlers = new Set<AnyBroadcastHandler>();
  private readonly resetHandlers = new Set<ResetHandler<Events>>();

  /**
   * Made by `client.room(name)`; not meant to be constructed directly.
   * @example
   * const room = client.room("orders");
   */
  constructor(
    /**
     * The room's name, as given to `client.room`.
     * @example
     * client.room("orders").name; // "orders"
     */
    readonly name: string,
    private readonly context: HandleContext,
    storage?: StoredPosition,
  ) {
    this.tracker = new RoomPositionTracker(storage?.load(), (position) => storage?.save(position));
  }

  /**
   * Whether this client is in the room as far as it knows: true from `join()` until `leave()` or a failed
   * join. A joined room is re-joined after every reconnect.
   * @example
   * await room.join();
   * room.joined; // true
   */
  get joined(): boolean {
    return this.isJoined;
  }

  /**
   * The handle's position in the room's history: the epoch and offset of the last publication it delivered
   * (or the room's position when its last join took effect, if later), `undefined` before any (and on a
   * node without history). The next join recovers from it; save it to recover in another client.
   * @example
   * await room.join();
   * room.position; // { epoch: "…", offset: 42 }
   */
  get position(): RoomPosition | undefined {
    return this.tracker.position;
  }

  /**
   * What the node said of the last join that asked to recover: `true` when it replayed every publication
   * missed, `false` when it refused (the `onReset` handlers were called); `undefined` when the last join
   * had no position to recover from, or the node keeps no history.
   * @example
   * await room.join();
   * room.recovered; // undefined: the handle had no position yet
   * room.onReset(() => console.log(room.recovered)); // false: a join after a reconnect could not recover
   */
  get recovered(): boolean | undefined {
    return this.lastRecovered;
  }

  /**
   * Joins the room on the node, cluster-wide, and resolves with the node's answer: the room's position when
   * the join took effect and, when the handle had a position (or `since` is given), whether the missed
   * publications were replayed (`recovered`). They reach the handlers before this resolves. Joining a room
   * this client's socket is in changes nothing (`since` and `rewind` are not used then).
   * Rejects with `INVALID_NAME` for a bad room name, `FORBIDDEN` without the `join` right, `BAD_REQUEST`
   * for a bad `since` or `rewind`, `UNAVAILABLE` when the node cannot answer now (retry).
   * @example
   * await client.room("user:17").join();
   * @example
   * // An application that saved a position elsewhere, and wants the last 20 when it cannot recover.
   * const { recovered } = await room.join({ since: saved, rewind: 20 });
   */
  async join(options: JoinOptions = {}): Promise<RoomJoinResult> {
    const change = ++this.membershipChanges;
    this.isJoined = true;
    try {
      return await this.inTurn(() => this.enter(options));
    } catch (error) {
      if (change === this.membershipChanges) this.isJoined = false;
      throw error;
    }
  }

  /**
   * Leaves the room; leaving a room this client is not in is harmless. The room is no longer re-joined
   * after a reconnect, even if this call fails (a reconnect is a new socket, in no room). The handle keeps
   * its position: a later `join()` recovers what was published meanwhile.
   * @example
   * await client.room("user:17").leave();
   */
  async leave(): Promise<void> {
    this.membershipChanges++;
    this.isJoined = false;
    await this.inTurn(async () => {
      this.memberSocket = undefined;
      await this.context.send("room:leave", { room: this.name });
    });
  }

  /**
   * Publishes `data` under `event` to every member of the room on every node, and resolves with the
   * broadcast's id (the `meta.id` members receive) and, on a node with history, its `offset` and `epoch`.
   * The publisher need not be a member; a member receives its own publish only with `echo: true` (nor is
   * it replayed to it after a reconnect). `data` is any JSON value or binary (`Uint8Array`, `ArrayBuffer`).
   * Rejects with `RESERVED_EVENT`, `INVALID_NAME`, `PAYLOAD_TOO_LARGE`, `FORBIDDEN` or `UNAVAILABLE`.
   * @example
   * const { id } = await room.publish("price.update", { symbol: "ACME", price: 12.5 });
   * await room.publish("frame", new Uint8Array([1, 2, 3]), { echo: true });
   */
  async publish<Event extends keyof Events & string>(
    event: Event,
    data: Events[Event],
    options: PublishOptions = {},
  ): Promise<RoomPublishResult> {
    const args: RoomPublishArgs = { room: this.name, event, data };
    if (options.echo !== undefined) args.echo = options.echo;
    const result = await this.context.send("room:publish", args);
    if (!options.echo && result.epoch !== undefined && result.offset !== undefined) {
      this.tracker.published({ epoch: result.epoch, offset: result.offset });
    }
    return result;
  }

  /**
   * Calls `handler` with `(data, meta)` for each broadcast under `event` to this room, and returns the
   * function that stops it. Handlers stay across reconnects. Binary data arrives as a `Uint8Array` (a
   * `Buffer` in Node). A reserved event name throws `RESERVED_EVENT`: no broadcast can arrive under it.
   * A handler that throws does not keep the others from the broadcast; its error is thrown again on its own.
   * @example
   * const stop = room.on("message", (data, meta) => {
   *   console.log(`${meta.from ?? "someone"} at ${new Date(meta.ts).toISOString()}:`, data);
   * });
   * stop();
   */
  on<Event extends keyof Events & string>(event: Event, handler: BroadcastHandler<Events[Event]>): () => void {
    if (isReservedEvent(event)) {
      throw new MailroomError("RESERVED_EVENT", `${event} is a reserved event name: no broadcast arrives under it`);
    }
    const registration: Registration = (data, meta) => handler(data as Events[Event], meta);
    let handlers = this.handlers.get(event);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(event, handlers);
    }
    handlers.add(registration);
    const registered = handlers;
    return () => {
      registered.delete(registration);
      if (registered.size === 0 && this.handlers.get(event) === registered) this.handlers.delete(event);
    };
  }

  /**
   * Calls `handler` with `(event, data, meta)` for each broadcast to this room, whatever its event name
   * (a tap, a logger, `mailroom subscribe`), and returns the function that stops it. Like `on`, it hears
   * only this room's broadcasts, never a reserved event, each once, and stays across reconnects; binary
   * data arrives as a `Uint8Array`. `onAny` handlers are called before `on` handlers.
   * @example
   * const stop = room.onAny((event, data, meta) => console.log(meta.room, event, data));
   * await room.join();
   */
  onAny(handler: AnyBroadcastHandler): () => void {
    const registration: AnyBroadcastHandler = (event, data, meta) => handler(event, data, meta);
    this.anyHandlers.add(registration);
    return () => {
      this.anyHandlers.delete(registration);
    };
  }

  /**
   * Calls `handler` with the room each time the handle could not get every publication it missed (a join
   * whose recovery the node refused, or a publication after the room's history was lost), and returns the
   * function that stops it. The application reloads its state then; `room.position` is `undefined` during
   * the call, and the publications that follow (`rewind`'s first) reach the handlers after it.
   * @example
   * room.onReset(async () => {
   *   messages = await loadMessages(); // from the application's own store, or the node's history route
   * });
   */
  onReset(handler: ResetHandler<Events>): () => void {
    const registration: ResetHandler<Events> = (room) => handler(room);
    this.resetHandlers.add(registration);
    return () => {
      this.resetHandlers.delete(registration);
    };
  }

  /**
   * Counts the room's members on every node and lists up to 1000 of them.
   * @example
   * const { count, members } = await room.members();
   * console.log(count, members.map((member) => member.user ?? member.socket));
   */
  members(): Promise<RoomMembersResult> {
    return this.context.send("room:members", { room: this.name });
  }

  /** After a reconnect: re-joins the room, from its position, if this client is in it. */
  async [resume](): Promise<void> {
    if (!this.isJoined) return;
    await this.inTurn(async () => {
      if (this.isJoined && !this.isMemberNow()) await this.enter({});
    });
  }

  /** A broadcast to this room, from the client: held while a join may replay, else delivered. */
  [receive](event: string, data: unknown, meta: BroadcastMeta): void {
    const broadcast: Broadcast = { event, data: asDelivered(data), meta };
    if (this.held) this.held.push(broadcast);
    else this.deliver(broadcast);
  }

  /** Runs `step` after the room's joins and leaves called before it (at once when none is under way). */
  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const turn = (this.turnsUnderWay === 0 ? step() : this.lastTurn.then(step)).finally(() => {
      this.turnsUnderWay--;
    });
    this.turnsUnderWay++;
    this.lastTurn = turn.catch(() => {});
    return turn;
  }

  private isMemberNow(): boolean {
    return this.memberSocket !== undefined && this.memberSocket === this.context.socket.id;
  }

  /** One join: with `since` from the handle's position, its broadcasts held until the answer. */
  private async enter({ since, rewind }: JoinOptions): Promise<RoomJoinResult> {
    const { socket, send } = this.context;
    if (this.isMemberNow()) {
      // The node changes nothing and replays nothing; its answer's offset may be ahead of publications
      // still on their way to this socket, so the position does not take it.
      return send("room:join", { room: this.name });
    }
    if (since) this.tracker.assume(since);
    const from = since ?? this.tracker.position;
    const args: RoomJoinArgs = { room: this.name };
    if (from) args.since = { epoch: from.epoch, offset: from.offset };
    if (rewind !== undefined) args.rewind = rewind;
    this.held = [];
    let answer: RoomJoinResult;
    try {
      answer = await send("room:join", args);
    } catch (error) {
      this.deliverHeld();
      throw error;
    }
    this.memberSocket = socket.id;
    this.lastRecovered = answer.recovered;
    if (answer.recovered === false) this.reset();
    this.deliverHeld();
    if (answer.epoch !== undefined && answer.offset !== undefined) {
      this.tracker.joined({ epoch: answer.epoch, offset: answer.offset });
    }
    return answer;
  }

  private deliverHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const broadcast of held) this.deliver(broadcast);
  }

  /** To the handlers, unless the handle delivered it already (or it is this client's own). */
  private deliver({ event, data, meta }: Broadcast): void {
    const position = positionOf(meta);
    if (position) {
      if (this.tracker.followsLoss(position)) this.reset();
      if (!this.tracker.take(position)) return;
    }
    for (const handler of [...this.anyHandlers]) callHandler(() => handler(event, data, meta));
    for (const handler of [...(this.handlers.get(event) ?? [])]) callHandler(() => handler(data, meta));
  }

  private reset(): void {
    this.tracker.forget();
    for (const handler of [...this.resetHandlers]) callHandler(() => handler(this));
  }
}

/** Whether `meta` is a room broadcast's: an object naming its room. */
export function isBroadcastMeta(meta: unknown): meta is BroadcastMeta {
  return typeof meta === "object" && meta !== null && typeof (meta as { room?: unknown }).room === "string";
}

/** The publication's place in the room's history; undefined for one without (an emitter's, no history). */
function positionOf(meta: BroadcastMeta): RoomPosition | undefined {
  const { epoch, offset } = meta;
  if (typeof epoch !== "string" || typeof offset !== "number" || !Number.isInteger(offset) || offset < 1) {
    return undefined;
  }
  return { epoch, offset };
}

/** Calls a handler; what it throws is thrown again on its own, so that the other handlers are still called. */
function callHandler(call: () => void): void {
  try {
    call();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
