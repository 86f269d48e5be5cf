/**
 * What a node remembers about each socket: the rooms it joined through `room:join` (never its private
 * rooms) and, once auth is on, its principal and user.
 *
 * Invariant: the state lives in a module-private WeakMap keyed by the socket, never in `socket.data`.
 * `socket.data` belongs to whatever else is attached to the Socket.IO server: `@socket.io/admin-ui`
 * replaces it with a Proxy that wraps every object put in it (a `Set` then throws on `has`), and the Redis
 * adapter serializes it for `fetchSockets`. The node only mirrors the user there as a plain string, for
 * such tools to show (`describeUser`), and never reads anything back from it.
 */

import type { Principal } from "../../auth/token-verifier.js";
import type { MailroomSocket } from "../../socket-types.js";

interface SocketState {
  rooms: Set<string>;
  user?: string;
  /** Who the handshake's token speaks for; absent while auth is off. */
  principal?: Principal;
}

const states = new WeakMap<MailroomSocket, SocketState>();

function stateOf(socket: MailroomSocket): SocketState {
  let state = states.get(socket);
  if (!state) {
    state = { rooms: new Set() };
    states.set(socket, state);
  }
  return state;
}

export function joinedRooms(socket: MailroomSocket): Set<string> {
  return stateOf(socket).rooms;
}

export function userOf(socket: MailroomSocket): string | undefined {
  return stateOf(socket).user;
}

export function principalOf(socket: MailroomSocket): Principal | undefined {
  return stateOf(socket).principal;
}

/** Records the principal of an accepted handshake, and its user. */
export function admitPrincipal(socket: MailroomSocket, principal: Principal): void {
  const state = stateOf(socket);
  state.principal = principal;
  if (principal.user !== undefined) {
    state.user = principal.user;
    describeUser(socket, principal.user);
  }
}

/**
 * Copies the user into `socket.data.user`, a plain string for tools that show `socket.data` (the admin
 * UI's socket list). A copy only: whatever happens to it changes nothing for the node, so a failure to
 * write it (a frozen or trapped `socket.data`) is ignored. Never `null`: admin-ui 0.5 wraps every object
 * value of `socket.data` in a Proxy, and `typeof null` is "object".
 */
function describeUser(socket: MailroomSocket, user: string): void {
  try {
    socket.data.user = user;
  } catch {
    // Only a copy for display.
  }
}
