/**
 * What every handle a client hands out (a room, a queue) shares: the context the client gives it, and
 * the hook the client calls after each reconnect so the handle can restore its server-side state (a room
 * re-joins from its position; a queue's consumptions consume again). A node forgets a socket's state when
 * the socket goes, and a reconnect is a new socket, so a handle that holds server-side state must be
 * resumable. A handle that holds back commands to send them together (a queue's acks) sends them when the
 * client closes: `beforeClose`.
 * Internal: neither the symbols nor the context are exported from the package.
 */
import type { MailroomSocket, SendCommand } from "./request.js";

/** What the client gives each handle: its socket, for listening, and its command channel. */
export interface HandleContext {
  readonly socket: MailroomSocket;
  readonly send: SendCommand;
}

/** The hook a client calls on every handle after a reconnect; a symbol, so it stays off the public API. */
export const resume: unique symbol = Symbol("mailroom.resume");

export interface Resumable {
  /** Restores what the node forgot; resolves with nothing to report, rejects with a `MailroomError`. */
  [resume](): Promise<void>;
}

/** The hook a client calls on its queue handles as it closes, while its socket is still open. */
export const beforeClose: unique symbol = Symbol("mailroom.beforeClose");

export interface Closable {
  /** Sends at once what the handle held back to send with others. */
  [beforeClose](): void;
}
