/**
 * What a node remembers about each socket, kept in `socket.data`: the rooms it joined through
 * `room:join` (never its private rooms) and its user, once auth is on.
 */
import type { Socket } from "socket.io";

export interface SocketState {
  rooms: Set<string>;
  user?: string;
}

export function socketState(socket: Socket): SocketState {
  const data = socket.data as Partial<SocketState>;
  data.rooms ??= new Set();
  return data as SocketState;
}

export function joinedRooms(socket: Socket): Set<string> {
  return socketState(socket).rooms;
}

export function userOf(socket: Socket): string | undefined {
  return socketState(socket).user;
}
