/**
 * The per-connection limits (docs/protocol.md §15, "Between tenants"). A connection is one engine.io
 * connection (`socket.client`), which carries a socket for each namespace it opened; it may hold at most
 * so many namespace sockets (`/` counts as one), live consumers and joined rooms, its namespaces together.
 *
 * Every unit is held by one socket, and the connection's count is the sum of its sockets' holdings. A
 * socket that disconnects gives back all it holds; giving back more than a socket holds gives nothing, so
 * a command that finishes after its socket left cannot give its unit back twice. A claim past a limit
 * takes nothing: a command is answered `LIMIT_EXCEEDED`, a namespace handshake gets a `connect_error`
 * whose message is `limit_exceeded` (and `data` holds the error body); either way the connection stays
 * up, and the refusal is reported (limit-reporter.ts). The counts live as long as the connection does.
 */
import { MailroomError } from "@mailroom/protocol";
import type { LimitName, LimitReporter } from "../../metrics/limit-reporter.js";
import type { MailroomSocket } from "../../socket-types.js";
import type { HandshakeMiddleware } from "./namespaces.js";
import { userOf } from "./socket-state.js";

const HELD = ["namespaces", "consumers", "rooms"] as const;

/** What a connection's sockets hold. */
export type Held = (typeof HELD)[number];

/** The `connect_error` message of a namespace handshake past the limit. */
export const LIMIT_EXCEEDED_REASON = "limit_exceeded";

const LIMIT_OF: Readonly<Record<Held, LimitName>> = {
  namespaces: "namespaces_per_connection",
  consumers: "consumers_per_connection",
  rooms: "rooms_per_connection",
};

const WHAT: Readonly<Record<Held, string>> = {
  namespaces: "namespaces open",
  consumers: "live consumers: cancel one first",
  rooms: "rooms joined: leave one first",
};

type Tally = Record<Held, number>;

const emptyTally = (): Tally => ({ namespaces: 0, consumers: 0, rooms: 0 });

export class ConnectionLimits {
  /** By the connection (`socket.client`): what all its sockets hold. */
  private readonly connections = new WeakMap<object, Tally>();
  /** By socket: what it holds. */
  private readonly sockets = new WeakMap<MailroomSocket, Tally>();

  constructor(
    private readonly maxima: Readonly<Tally>,
    private readonly reporter: LimitReporter,
  ) {}

  /**
   * Handshake middleware, the last to run: admits a socket while its connection has fewer namespace
   * sockets than the maximum, and gives the place back when the socket disconnects.
   */
  admit: HandshakeMiddleware = (socket, next) => {
    if (!this.take(socket, "namespaces")) {
      const error = this.refusal(socket, "namespaces");
      next(Object.assign(new Error(LIMIT_EXCEEDED_REASON), { data: error.toBody() }));
      return;
    }
    socket.once("disconnect", () => this.release(socket));
    next();
  };

  /** Counts one more consumer or room for the socket; throws `LIMIT_EXCEEDED`, taking nothing, at the limit. */
  claim(socket: MailroomSocket, held: Exclude<Held, "namespaces">): void {
    if (!this.take(socket, held)) throw this.refusal(socket, held);
  }

  /** Gives back one consumer or room the socket holds; nothing when it holds none. */
  free(socket: MailroomSocket, held: Exclude<Held, "namespaces">): void {
    this.give(socket, held, 1);
  }

  private take(socket: MailroomSocket, held: Held): boolean {
    const connection = this.tallyOf(this.connections, socket.client);
    if (connection[held] >= this.maxima[held]) return false;
    connection[held] += 1;
    this.tallyOf(this.sockets, socket)[held] += 1;
    return true;
  }

  private give(socket: MailroomSocket, held: Held, count: number): void {
    const own = this.sockets.get(socket);
    const connection = this.connections.get(socket.client);
    if (!own || !connection) return;
    const given = Math.min(count, own[held]);
    own[held] -= given;
    connection[held] -= given;
  }

  /** The socket left: everything it held is given back. */
  private release(socket: MailroomSocket): void {
    const own = this.sockets.get(socket);
    if (!own) return;
    for (const held of HELD) this.give(socket, held, own[held]);
  }

  private refusal(socket: MailroomSocket, held: Held): MailroomError {
    this.reporter.exceeded(LIMIT_OF[held], socket.nsp.name, userOf(socket));
    return new MailroomError(
      "LIMIT_EXCEEDED",
      `this connection already has ${this.maxima[held]} ${WHAT[held]} (the node's limit)`,
    );
  }

  private tallyOf<Key extends object>(tallies: WeakMap<Key, Tally>, key: Key): Tally {
    let tally = tallies.get(key);
    if (!tally) {
      tally = emptyTally();
      tallies.set(key, tally);
    }
    return tally;
  }
}
