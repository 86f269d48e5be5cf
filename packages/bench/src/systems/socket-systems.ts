/**
 * Every Socket.IO server the room and socket scenarios know, by the name they report them under, each
 * imported only when a role uses it.
 */
import type { SocketSystem } from "./socket-system.js";

const LOADERS = {
  mailroom: async () => (await import("./mailroom-sockets.js")).mailroomSockets,
  "socket.io": async () => (await import("./socketio-sockets.js")).socketioSockets,
} as const satisfies Record<string, () => Promise<SocketSystem>>;

export type SocketSystemName = keyof typeof LOADERS;

export function loadSocketSystem(name: SocketSystemName): Promise<SocketSystem> {
  return LOADERS[name]();
}
