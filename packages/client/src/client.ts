/**
 * The Mailroom client: one socket.io-client socket to one namespace, the handles it hands out (rooms and
 * queues), and what keeps them true across reconnects.
 *
 * Invariants: every command goes through `sendCommand` with the client's timeout; one handle per name and
 * kind; every broadcast whose `meta.room` names a room handle goes to that handle, once (one listener for
 * all rooms; the handle drops duplicates by offset); after every reconnect (each `connect` but the first)
 * each handle restores its server-side state (a room re-joins from its position, a queue's consumptions
 * consume again), and a failure to do so is reported to `rejoinError` or `consumeError` listeners, never
 * thrown; so are the failures of the acks, nacks and extends the SDK sends for consumption handlers.
 * Socket.IO reconnects by itself (with backoff) after a lost connection; commands sent while disconnected
 * wait in its buffer, within their timeout. After `close()` every command fails with `UNAVAILABLE`; the
 * socket itself disconnects once the acks and nacks already sent are answered (each within its timeout),
 * so that the node settles them before it gives the closed connection's leases back.
 *
 * One addition to Socket.IO's reconnection: a node that drains (SIGTERM) disconnects its sockets from the
 * server side, which socket.io-client never retries, so the client reconnects itself then, after
 * Socket.IO's own first delay and jitter (unless `reconnection: false`). A token that has expired meanwhile
 * is refused at that handshake, which stops it.
 */
import { type CommandName, type Commands, isReservedEvent, MailroomError, SETTLING_COMMANDS } from "@mailroom/protocol";
import type { Manager } from "socket.io-client";
import type { ConsumeFailure, QueueContext } from "./consumption.js";
import { beforeClose, type HandleContext, resume } from "./handle.js";
import { handshakeError } from "./handshake-error.js";
import { type PositionStorage, storedPosition } from "./position-storage.js";
import { Queue } from "./queue.js";
import { type CommandResult, type MailroomSocket, sendCommand } from "./request.js";
import { isBroadcastMeta, Room, type RoomEvents, receive } from "./room.js";

/** How long a command waits for its acknowledgement: long enough for a busy node, short enough to retry. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ClientOptions {
  /** How long each command waits for the node's answer before it fails with `UNAVAILABLE`, in ms. @default 10000 */
  timeoutMs?: number;
  /**
   * Where rooms keep their positions in the rooms' history, so that a new client (a page loaded again, a
   * process started again) recovers what the last one missed, as a reconnect does: `sessionStorage` in a
   * browser, or any `{ getItem, setItem }`. Each room's entry is written as its position moves.
   * @default none: a position lives as long as its client
   */
  positionStorage?: PositionStorage;
}

/** What a client reports, by event name. */
export interface ClientEvents {
  /**
   * A room could not be re-joined after a reconnect. The room stays joined on the client's side, so the
   * next reconnect tries again; `room.join()` tries now.
   */
  rejoinError: (error: MailroomError, room: Room) => void;
  /**
   * Something a consumption does for its handler failed: an ack (also a stale receipt, whose lease had
   * ended first: the message is delivered again), a nack, a lease extension, its registration again after
   * a reconnect (it stays active, so the next reconnect tries again), or a cancel then.
   */
  consumeError: (error: MailroomError, failure: ConsumeFailure) => void;
}

type Listeners = { [Event in keyof ClientEvents]: Set<ClientEvents[Event]> };

interface ReadyWaiter {
  resolve: () => void;
  reject: (error: MailroomError) => void;
}

/**
 * A connection to one namespace of a Mailroom cluster. Made by `connect(url, options)`.
 * @example
 * const client = connect("http://localhost:3000", { namespace: "/chat", token });
 * await client.ready();
 * await client.room("general").join();
 */
export class MailroomClient {
  /**
   * The underlying socket.io-client socket, for what the SDK does not cover (its events, its manager).
   * Commands sent on it directly bypass the SDK's timeout and error mapping.
   * @example
   * client.socket.on("disconnect", (reason) => console.warn("disconnected:", reason));
   */
  readonly socket: MailroomSocket;

  private readonly timeoutMs: number;
  /** Where rooms keep their positions, and the address their entries are under (where the socket started). */
  private readonly positionStorage: ({ storage: PositionStorage } & SocketAddress) | undefined;
  private readonly context: HandleContext;
  private readonly queueContext: QueueContext;
  private readonly rooms = new Map<string, Room>();
  private readonly queues = new Map<string, Queue>();
  private readonly listeners: Listeners = { rejoinError: new Set(), consumeError: new Set() };
  private readonly readyWaiters = new Set<ReadyWaiter>();
  private hasConnected: boolean;
  private closed = false;
  /** Acks and nacks sent and not answered yet. */
  private readonly settling = new Set<Promise<unknown>>();
  /** Set while a reconnect after a server-side disconnect is scheduled. */
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why the last handshake failed, for `ready()` once the socket has stopped trying. */
  private lastHandshakeError: MailroomError | undefined;

  /**
   * Wraps a socket.io-client socket made by the caller; `connect()` is the usual way in.
   * @example
   * const socket = io("http://localhost:3000/chat", { auth: { token } });
   * const client = new MailroomClient(socket, { timeoutMs: 5000 });
   */
  constructor(socket: MailroomSocket, options: ClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.positionStorage = options.positionStorage && { storage: options.positionStorage, ...addressOf(socket) };
    this.hasConnected = socket.connected;
    this.context = { socket, send: (name, args) => this.send(name, args) };
    this.queueContext = {
      ...this.context,
      reportConsumeError: (error, failure) => this.reportConsumeError(error, failure),
    };
    socket.on("connect", this.onConnect);
    socket.on("connect_error", this.onConnectError);
    socket.on("disconnect", this.onDisconnect);
    socket.onAny(this.onBroadcast);
  }

  /**
   * The socket's id while connected (a new one after each reconnect), else `undefined`.
   * @example
   * await client.ready();
   * console.log(client.id);
   */
  get id(): string | undefined {
    return this.socket.id;
  }

  /**
   * Resolves when the socket is connected (at once if it is). Rejects at the next failed handshake with
   * `UNAUTHORIZED` or `FORBIDDEN` (refused by the node) or `UNAVAILABLE` (no node reached; Socket.IO keeps
   * retrying, so calling `ready()` again waits for the next attempt), and with `UNAVAILABLE` once closed.
   * @example
   * try {
   *   await client.ready();
   * } catch (error) {
   *   if (error instanceof MailroomError && error.code === "UNAUTHORIZED") renewToken();
   * }
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (this.socket.connected) return Promise.resolve();
    if (!this.socket.active && this.reconnectTimer === undefined) {
      return Promise.reject(
        this.lastHandshakeError ?? new MailroomError("UNAVAILABLE", "the socket is not connecting"),
      );
    }
    return new Promise((resolve, reject) => {
      this.readyWaiters.add({ resolve, reject });
    });
  }

  /**
   * The handle of room `name`, the same one for every call with that name. Nothing is sent until one of
   * its methods is called; the room name is checked by the node then.
   * @example
   * const orders = client.room("orders");
   * const chat = client.room<{ message: { text: string } }>("chat/general");
   */
  room<Events extends RoomEvents = RoomEvents>(name: string): Room<Events> {
    let room = this.rooms.get(name);
    if (!room) {
      const positions = this.positionStorage;
      const stored = positions && storedPosition(positions.storage, positions.url, positions.namespace, name);
      room = new Room(name, this.context, stored);
      this.rooms.set(name, room);
    }
    return room as Room<Events>;
  }

  /**
   * The handle of queue `name`, the same one for every call with that name. Nothing is sent until one of
   * its methods is called; the queue name is checked by the node then.
   * @example
   * const orders = client.queue<{ sku: string; quantity: number }>("orders");
   * await orders.send({ sku: "A-1", quantity: 2 });
   */
  queue<Data = unknown>(name: string): Queue<Data> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, this.queueContext);
      this.queues.set(name, queue);
    }
    return queue as Queue<Data>;
  }

  /**
   * Calls `listener` on each `event` the client reports, and returns the function that stops it.
   * @example
   * client.on("rejoinError", (error, room) => console.warn(`could not re-join ${room.name}:`, error.code));
   * client.on("consumeError", (error, { operation, message }) => console.warn(operation, message?.id, error.code));
   */
  on<Event extends keyof ClientEvents>(event: Event, listener: ClientEvents[Event]): () => void {
    this.listeners[event].add(listener);
    return () => {
      this.listeners[event].delete(listener);
    };
  }

  /**
   * Disconnects for good: no reconnect, every later command fails with `UNAVAILABLE`, pending `ready()`
   * calls reject, and every listener on the socket is removed. The acks that wait for company are sent
   * first, and the socket disconnects once every ack and nack sent is answered (at once when none is, or
   * when the socket is not connected), so none arrives together with the close and goes unsettled.
   * Calling it again does nothing.
   * @example
   * client.close();
   */
  close(): void {
    if (this.closed) return;
    for (const queue of this.queues.values()) queue[beforeClose]();
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.settling.size === 0 || !this.socket.connected) this.socket.disconnect();
    else void Promise.allSettled(this.settling).then(() => this.socket.disconnect());
    this.socket.removeAllListeners();
    this.socket.offAny(this.onBroadcast);
    this.listeners.rejoinError.clear();
    this.listeners.consumeError.clear();
    this.settleReady(closedError());
  }

  private send<Name extends CommandName>(name: Name, args: Commands[Name]["args"]): Promise<CommandResult<Name>> {
    if (this.closed) return Promise.reject(closedError());
    const answer = sendCommand(this.socket, name, args, this.timeoutMs);
    if (SETTLING_COMMANDS.has(name)) {
      this.settling.add(answer);
      const answered = () => this.settling.delete(answer);
      answer.then(answered, answered);
    }
    return answer;
  }

  private readonly onConnect = (): void => {
    this.lastHandshakeError = undefined;
    this.settleReady();
    if (!this.hasConnected) {
      this.hasConnected = true;
      return;
    }
    for (const room of this.rooms.values()) {
      room[resume]().catch((error: unknown) => this.reportRejoinError(error, room));
    }
    for (const queue of this.queues.values()) void queue[resume]();
  };

  private readonly onBroadcast = (event: string, data: unknown, meta: unknown): void => {
    if (isReservedEvent(event) || !isBroadcastMeta(meta)) return;
    this.rooms.get(meta.room)?.[receive](event, data, meta);
  };

  private readonly onConnectError = (error: Error): void => {
    this.lastHandshakeError = handshakeError(error);
    this.settleReady(this.lastHandshakeError);
  };

  private readonly onDisconnect = (reason: string): void => {
    if (reason !== "io server disconnect" || !this.socket.io.reconnection()) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.socket.connect();
    }, firstReconnectDelayMs(this.socket.io));
  };

  private reportRejoinError(error: unknown, room: Room): void {
    const reported =
      error instanceof MailroomError ? error : new MailroomError("INTERNAL", "re-joining failed", { cause: error });
    for (const listener of this.listeners.rejoinError) listener(reported, room);
  }

  private reportConsumeError(error: MailroomError, failure: ConsumeFailure): void {
    for (const listener of this.listeners.consumeError) listener(error, failure);
  }

  /** Resolves every pending `ready()`, or rejects them with `error`. */
  private settleReady(error?: MailroomError): void {
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }
}

/** The delay socket.io-client waits before its first reconnection attempt, jitter included. */
function firstReconnectDelayMs(manager: Manager): number {
  const jitter = manager.randomizationFactor() * (2 * Math.random() - 1);
  return manager.reconnectionDelay() * (1 + jitter);
}

interface SocketAddress {
  url: string;
  namespace: string;
}

/**
 * The URL the socket's manager opens now (the first of a failover list at the start) and the socket's
 * namespace. socket.io-client 4 keeps them in the Manager's `uri` and the Socket's `nsp`, both private in
 * its types (connect.ts moves `uri` along a failover list); test/client-room-recovery.test.ts checks the
 * storage keys they make.
 */
function addressOf(socket: MailroomSocket): SocketAddress {
  const { uri } = socket.io as unknown as { uri: unknown };
  const { nsp } = socket as unknown as { nsp: unknown };
  return { url: String(uri), namespace: String(nsp) };
}

function closedError(): MailroomError {
  return new MailroomError("UNAVAILABLE", "the client is closed");
}
