/**
 * The members of a room run: `members` sockets on one server, opened `batch` at a time, each joined to
 * the room and listening to its event. Done once every member has received `publishes` broadcasts;
 * records each delivery's latency (arrival minus the publisher's send time).
 */
import { LatencyRecorder, type LatencySummary } from "../measure/latency-recorder.js";
import { now, type Payload } from "../systems/payload.js";
import type { BenchSocket } from "../systems/socket-system.js";
import { loadSocketSystem, type SocketSystemName } from "../systems/socket-systems.js";
import type { Role } from "./role-protocol.js";

export interface RoomMembersConfig {
  system: SocketSystemName;
  url: string;
  room: string;
  event: string;
  members: number;
  batch: number;
  publishes: number;
}

export interface RoomMembersResult {
  deliveries: number;
  latency: LatencySummary;
}

export async function roomMembersRole(config: RoomMembersConfig): Promise<Role> {
  const system = await loadSocketSystem(config.system);
  const expected = config.members * config.publishes;
  const latency = new LatencyRecorder(expected);
  let deliveries = 0;
  let pending: Array<() => void> = [];
  const onDelivery = (data: unknown) => {
    deliveries += 1;
    latency.record(now() - (data as Payload).sentAt);
    if (deliveries >= expected) for (const resolve of pending.splice(0)) resolve();
  };
  const sockets: BenchSocket[] = [];
  while (sockets.length < config.members) {
    const size = Math.min(config.batch, config.members - sockets.length);
    const opened = await Promise.all(
      Array.from({ length: size }, async () => {
        const socket = await system.connect(config.url);
        socket.onBroadcast(config.room, config.event, onDelivery);
        await socket.join(config.room);
        return socket;
      }),
    );
    sockets.push(...opened);
  }
  return {
    async start() {
      if (deliveries < expected) await new Promise<void>((resolve) => pending.push(resolve));
      return { deliveries, latency: latency.summary() } satisfies RoomMembersResult;
    },
    async close() {
      pending = [];
      for (const socket of sockets) socket.close();
    },
  };
}
