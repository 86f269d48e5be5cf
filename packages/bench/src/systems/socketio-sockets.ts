/**
 * Raw Socket.IO, the peer of Mailroom's rooms: the stock socket.io-client against
 * peer-servers/socketio-server.ts, whose `join` and `publish` events do what Mailroom's `room:join` and
 * `room:publish` do, without names, rights or membership registry.
 */
import { io } from "socket.io-client";
import type { BenchSocket, SocketSystem } from "./socket-system.js";

const ACK_TIMEOUT_MS = 60_000;

export const socketioSockets: SocketSystem = {
  async connect(url): Promise<BenchSocket> {
    const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    return {
      async join(room) {
        await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("join", room);
      },
      onBroadcast(room, event, listener) {
        socket.on(event, (data: unknown, meta: { room?: string }) => {
          if (meta?.room === room) listener(data);
        });
      },
      async publish(room, event, data) {
        await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("publish", { room, event, data });
      },
      close() {
        socket.close();
      },
    };
  },
};
