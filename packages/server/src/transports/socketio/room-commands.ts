/**
 * The room commands of docs/protocol.md §3: join, leave, publish and members. Delivery is Socket.IO's
 * (its adapter carries a publish to every node); membership as the cluster sees it is the registry's.
 * Handlers check names after shapes, so a wrong type is `BAD_REQUEST` and a wrong name `INVALID_NAME`.
 * A connection's joined rooms, its namespaces together, are counted (sockets/connection-limits.ts): a
 * join past the limit is `LIMIT_EXCEEDED` and joins nothing; joining a room the socket is in is not
 * counted again; a leave, or the socket's disconnect, gives the room back.
 */
import { randomUUID } from "node:crypto";
import { type BroadcastMeta, MailroomError, roomNameProblem } from "@mailroom/protocol";
import type { NodeConfig } from "../../config.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import { selfRoom } from "../../operations/private-rooms.js";
import { checkPublish } from "../../operations/publish-checks.js";
import type { MailroomSocket } from "../../socket-types.js";
import type { CommandTable } from "./commands.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { joinedRooms, userOf } from "./socket-state.js";

export interface RoomCommandDeps {
  registry: ClusterRegistry;
  /** The size bound of a publish. */
  settings: Pick<NodeConfig, "maxMessageBytes">;
  /** Whether a publish can reach the other nodes now (always, with no Redis). */
  broadcastsFlow: () => boolean;
  /** Told of each publish sent (metrics). */
  broadcasted: (namespace: string) => void;
  limits: Pick<ConnectionLimits, "claim" | "free">;
}

export function roomCommands({
  registry,
  settings,
  broadcastsFlow,
  broadcasted,
  limits,
}: RoomCommandDeps): CommandTable {
  return {
    "room:join": {
      requirement: "join",
      run: async ({ room }, socket) => {
        checkRoom(room);
        const rooms = joinedRooms(socket);
        if (rooms.has(room)) return {};
        limits.claim(socket, "rooms");
        try {
          await registry.join(membership(socket, room));
        } catch (error) {
          limits.free(socket, "rooms");
          throw error;
        }
        if (socket.disconnected) {
          await registry.leave(membership(socket, room));
          return {};
        }
        // A join of the same room sent at the same time got there first: this one holds nothing more.
        if (rooms.has(room)) {
          limits.free(socket, "rooms");
          return {};
        }
        rooms.add(room);
        socket.join(room);
        if (room === socket.id) socket.leave(selfRoom(socket.id));
        return {};
      },
    },

    "room:leave": {
      requirement: "join",
      run: async ({ room }, socket) => {
        checkRoom(room);
        const member = joinedRooms(socket).has(room);
        const leaving = leaveRoom(socket, room, registry);
        // Given back as the socket leaves the room here, whether or not the registry hears of it.
        if (member) limits.free(socket, "rooms");
        await leaving;
        return {};
      },
    },

    "room:publish": {
      requirement: "publish",
      run: async ({ room, event, data, echo }, socket) => {
        checkRoom(room);
        checkPublish(event, data, { maxMessageBytes: settings.maxMessageBytes, broadcastsFlow });
        const meta: BroadcastMeta = { room, id: randomUUID(), ts: Date.now() };
        const from = userOf(socket);
        if (from !== undefined) meta.from = from;
        const excluded = echo ? [selfRoom(room)] : [selfRoom(room), socket.id];
        socket.nsp.to(room).except(excluded).emit(event, data, meta);
        broadcasted(socket.nsp.name);
        return { id: meta.id };
      },
    },

    "room:members": {
      requirement: "any",
      run: async ({ room }, socket) => {
        checkRoom(room);
        return registry.members(socket.nsp.name, room);
      },
    },
  };
}

/** Takes a socket out of a room, locally and in the registry; nothing when it is not a member. */
export async function leaveRoom(socket: MailroomSocket, room: string, registry: ClusterRegistry): Promise<void> {
  const rooms = joinedRooms(socket);
  if (!rooms.delete(room)) return;
  if (room === socket.id) socket.join(selfRoom(socket.id));
  else socket.leave(room);
  await registry.leave(membership(socket, room));
}

function checkRoom(room: string): void {
  const problem = roomNameProblem(room);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
}

function membership(socket: MailroomSocket, room: string) {
  return { namespace: socket.nsp.name, room, socket: socket.id, user: userOf(socket) };
}
