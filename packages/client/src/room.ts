/**
 * A room handle: the room commands of docs/protocol.md §3 and the room broadcasts of §4, for one room name.
 *
 * Membership as the client sees it: a room is joined from the moment `join()` is called until `leave()`
 * is called or that join fails; after a reconnect the client re-joins every joined room (a node forgets a
 * socket's rooms when it goes). Socket.IO delivers a broadcast under its event name to the whole socket,
 * whatever the room, so a handler registered here receives only the broadcasts whose `meta.room` is this
 * room; one without meta (a stock emitter's) reaches none (emitter-meta.ts says why and what to send).
 * The handle does not check names: the node does, and answers with the contract's codes.
 */
import {
  type BroadcastMeta,
  isReservedEvent,
  MailroomError,
  type RoomMembersResult,
  type RoomPublishArgs,
  type RoomPublishResult,
} from "@mailroom/protocol";
import { asDelivered } from "./delivered-data.js";
import { type HandleContext, type Resumable, resume } from "./handle.js";

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

/** Receives one broadcast: its data and `meta = { room, id, ts, from? }`. */
export type BroadcastHandler<Data> = (data: Data, meta: BroadcastMeta) => void;

/**
 * Receives one broadcast under any event name: the name, its data and `meta`. The data is `unknown`:
 * whatever a room's event map says, any publisher may use any name.
 */
export type AnyBroadcastHandler = (event: string, data: unknown, meta: BroadcastMeta) => void;

/**
 * One room of one client; `client.room(name)` returns the same handle for the same name.
 * @example
 * const room = client.room("chat/general");
 * room.on("message", (data, meta) => console.log(meta.room, data));
 * await room.join();
 * await room.publish("message", { text: "hello" });
 */
export class Room<Events extends RoomEvents = RoomEvents> implements Resumable {
  private isJoined = false;
  /** Counts joins and leaves, so a failed join only undoes itself, not a later call. */
  private membershipChanges = 0;

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
  ) {}

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
   * Joins the room on the node, cluster-wide; joining a room twice is harmless.
   * Rejects with `INVALID_NAME` for a bad room name, `FORBIDDEN` without the `join` right, `UNAVAILABLE`
   * when the node cannot answer now (retry).
   * @example
   * await client.room("user:17").join();
   */
  async join(): Promise<void> {
    const change = ++this.membershipChanges;
    this.isJoined = true;
    try {
      await this.context.send("room:join", { room: this.name });
    } catch (error) {
      if (change === this.membershipChanges) this.isJoined = false;
      throw error;
    }
  }

  /**
   * Leaves the room; leaving a room this client is not in is harmless. The room is no longer re-joined
   * after a reconnect, even if this call fails (a reconnect is a new socket, in no room).
   * @example
   * await client.room("user:17").leave();
   */
  async leave(): Promise<void> {
    this.membershipChanges++;
    this.isJoined = false;
    await this.context.send("room:leave", { room: this.name });
  }

  /**
   * Publishes `data` under `event` to every member of the room on every node, and resolves with the
   * broadcast's id (the `meta.id` members receive). The publisher need not be a member; a member receives
   * its own publish only with `echo: true`. `data` is any JSON value or binary (`Uint8Array`, `ArrayBuffer`).
   * Rejects with `RESERVED_EVENT`, `INVALID_NAME`, `PAYLOAD_TOO_LARGE`, `FORBIDDEN` or `UNAVAILABLE`.
   * @example
   * const { id } = await room.publish("price.update", { symbol: "ACME", price: 12.5 });
   * await room.publish("frame", new Uint8Array([1, 2, 3]), { echo: true });
   */
  publish<Event extends keyof Events & string>(
    event: Event,
    data: Events[Event],
    options: PublishOptions = {},
  ): Promise<RoomPublishResult> {
    const args: RoomPublishArgs = { room: this.name, event, data };
    if (options.echo !== undefined) args.echo = options.echo;
    return this.context.send("room:publish", args);
  }

  /**
   * Calls `handler` with `(data, meta)` for each broadcast under `event` to this room, and returns the
   * function that stops it. Handlers stay across reconnects. Binary data arrives as a `Uint8Array` (a
   * `Buffer` in Node). A reserved event name throws `RESERVED_EVENT`: no broadcast can arrive under it.
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
    const { socket } = this.context;
    const eventName: string = event;
    const listener = (data: unknown, meta: unknown): void => {
      if (!isMetaOfRoom(meta, this.name)) return;
      handler(asDelivered(data) as Events[Event], meta);
    };
    socket.on(eventName, listener);
    return () => {
      socket.off(eventName, listener);
    };
  }

  /**
   * Calls `handler` with `(event, data, meta)` for each broadcast to this room, whatever its event name
   * (a tap, a logger, `mailroom subscribe`), and returns the function that stops it. Like `on`, it hears
   * only this room's broadcasts, never a reserved event, and stays across reconnects; binary data arrives
   * as a `Uint8Array`.
   * @example
   * const stop = room.onAny((event, data, meta) => console.log(meta.room, event, data));
   * await room.join();
   */
  onAny(handler: AnyBroadcastHandler): () => void {
    const { socket } = this.context;
    const listener = (event: string, data: unknown, meta: unknown): void => {
      if (isReservedEvent(event) || !isMetaOfRoom(meta, this.name)) return;
      handler(event, asDelivered(data), meta);
    };
    socket.onAny(listener);
    return () => {
      socket.offAny(listener);
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

  /** After a reconnect: re-joins the room if this client is in it. */
  async [resume](): Promise<void> {
    if (!this.isJoined) return;
    await this.context.send("room:join", { room: this.name });
  }
}

function isMetaOfRoom(meta: unknown, room: string): meta is BroadcastMeta {
  return typeof meta === "object" && meta !== null && (meta as { room?: unknown }).room === room;
}
