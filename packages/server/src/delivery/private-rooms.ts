/**
 * Keeps room names away from Socket.IO's private rooms (docs/protocol.md §1).
 *
 * Socket.IO puts every socket in a room named by its id, so a publish to a room named after another
 * socket would reach it. Every socket therefore also joins a shadow room, `selfRoom(id)`, whose name holds
 * a control character no client room may hold; a publish to room R excludes `selfRoom(R)` on every node.
 * A socket that itself joins a room named after its own id leaves its shadow room for that time, so
 * the exclusion spares it. The registry lists only joined rooms, so members never reveal a private room.
 */

const SELF_ROOM_MARK = "\u0000self:";

export function selfRoom(socketId: string): string {
  return `${SELF_ROOM_MARK}${socketId}`;
}
