/**
 * What a node remembers about each socket, kept in `socket.data`: the rooms it joined through
 * `room:join` (never its private rooms) and, once auth is on, its principal and user.
 */

import type { Principal } from "../../auth/token-verifier.js";
import type { MailroomSocket } from "../../socket-types.js";

export interface SocketState {
  rooms: Set<string>;
  user?: string;
  /** Who the handshake's token speaks for; absent while auth is off. */
  principal?: Principal;
}

export function socketState(socket: MailroomSocket): SocketState {
  const data = socket.data as Partial<SocketState>;
  data.rooms ??= new Set();
  return data as SocketState;
}

export function joinedRooms(socket: MailroomSocket): Set<string> {
  return socketState(socket).rooms;
}

export function userOf(socket: MailroomSocket): string | undefined {
  return socketState(socket).user;
}
