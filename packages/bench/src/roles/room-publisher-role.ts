/**
 * The publisher of a room run: one socket that publishes `publishes` messages to the room, `window`
 * awaiting the server's acknowledgement at once.
 */
import { now, payload } from "../systems/payload.js";
import { loadSocketSystem, type SocketSystemName } from "../systems/socket-systems.js";
import type { Role } from "./role-protocol.js";

export interface RoomPublisherConfig {
  system: SocketSystemName;
  url: string;
  room: string;
  event: string;
  publishes: number;
  window: number;
}

export interface RoomPublisherResult {
  published: number;
  elapsedMs: number;
}

export async function roomPublisherRole(config: RoomPublisherConfig): Promise<Role> {
  const system = await loadSocketSystem(config.system);
  const socket = await system.connect(config.url);
  return {
    async start() {
      const startedAt = now();
      let next = 0;
      const lane = async () => {
        while (next < config.publishes) {
          const message = payload(next++);
          await socket.publish(config.room, config.event, message);
        }
      };
      await Promise.all(Array.from({ length: config.window }, lane));
      return { published: next, elapsedMs: now() - startedAt } satisfies RoomPublisherResult;
    },
    async close() {
      socket.close();
    },
  };
}
