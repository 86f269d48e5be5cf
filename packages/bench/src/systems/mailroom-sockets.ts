/**
 * Mailroom's rooms through @mailroom/client: `room.join()`, `room.on(event)`, `room.publish(event, data)`.
 */
import { connect } from "@mailroom/client";
import type { BenchSocket, SocketSystem } from "./socket-system.js";

export const mailroomSockets: SocketSystem = {
  async connect(url): Promise<BenchSocket> {
    const client = connect(url, { transports: ["websocket"], forceNew: true, reconnection: false, timeoutMs: 60_000 });
    await client.ready();
    return {
      async join(room) {
        await client.room(room).join();
      },
      onBroadcast(room, event, listener) {
        client.room(room).on(event, (data) => listener(data));
      },
      async publish(room, event, data) {
        await client.room(room).publish(event, data);
      },
      close() {
        client.close();
      },
    };
  },
};
