/**
 * The room commands of docs/protocol.md §3 and §10: join (with `since` and `rewind`), leave, publish and
 * members. With history, a publish goes through the store, which gives it its offset and carries it to
 * every node's feed (delivery/room-feeds.ts); without, through Socket.IO's adapter. Membership as the
 * cluster sees it is the registry's.
 * Handlers check names after shapes, so a wrong type is `BAD_REQUEST` and a wrong name `INVALID_NAME`.
 * A connection's joined rooms, its namespaces together, are counted (sockets/connection-limits.ts): a
 * join past the limit is `LIMIT_EXCEEDED` and joins nothing; joining a room the socket is in is not
 * counted again; a leave, or the socket's disconnect, gives the room back.
 */
import { MailroomError, roomNameProblem } from "@mailroom/protocol";
import type { NodeConfig } from "../../config.js";
import { selfRoom } from "../../delivery/private-rooms.js";
import type { RoomFeeds } from "../../delivery/room-feeds.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { RoomHistory } from "../../engines/room-history.js";
import { payloadBytes } from "../../operations/payload-size.js";
import { checkPublish } from "../../operations/publish-checks.js";
import { publishToRoom } from "../../operations/room-publishing.js";
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
  /** Rooms' histories and this node's feeds of them; undefined when history is off. */
  history?: { store: RoomHistory; feeds: RoomFeeds } | undefined;
}

export function roomCommands({
  registry,
  settings,
  broadcastsFlow,
  broadcasted,
  limits,
  history,
}: RoomCommandDeps): CommandTable {
  const feeds = history?.feeds;
  return {
    "room:join": {
      requirement: "join",
      run: async ({ room, since, rewind }, socket) => {
        checkRoom(room);
        const rooms = joinedRooms(socket);
        if (rooms.has(room)) return feeds ? feeds.placeOf(socket, room, since) : {};
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
        // Publications are held for the socket from here, before it is in the room (room-feeds.ts).
        const joining = feeds?.attach(socket, room);
        socket.join(room);
        if (room === socket.id) socket.leave(selfRoom(socket.id));
        if (!joining) return {};
        try {
          return await joining.recover({ since, rewind });
        } catch (error) {
          limits.free(socket, "rooms");
          await leaveRoom(socket, room, registry, feeds);
          throw error;
        }
      },
    },

    "room:leave": {
      requirement: "join",
      run: async ({ room }, socket) => {
        checkRoom(room);
        const member = joinedRooms(socket).has(room);
        const leaving = leaveRoom(socket, room, registry, feeds);
        // Given back as the socket leaves the room here, whether or not the registry hears of it.
        if (member) limits.free(socket, "rooms");
        await leaving;
        return {};
      },
    },

    "room:publish": {
      requirement: "publish",
      run: async ({ room, event, data, echo }, socket) => {
        const bytes = payloadBytes(data);
        checkRoom(room);
        checkPublish(event, bytes, { maxMessageBytes: settings.maxMessageBytes, broadcastsFlow });
        const publication = {
          namespace: socket.nsp.name,
          room,
          event,
          data,
          from: userOf(socket),
          except: echo ? undefined : socket.id,
        };
        const result = await publishToRoom(history?.store, publication, (meta) => {
          const excluded = echo ? [selfRoom(room)] : [selfRoom(room), socket.id];
          socket.nsp.to(room).except(excluded).emit(event, data, meta);
        });
        broadcasted(socket.nsp.name);
        return result;
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

/** Takes a socket out of a room, locally, in its feed and in the registry; nothing when it is not a member. */
export async function leaveRoom(
  socket: MailroomSocket,
  room: string,
  registry: ClusterRegistry,
  feeds: RoomFeeds | undefined,
): Promise<void> {
  const rooms = joinedRooms(socket);
  if (!rooms.delete(room)) return;
  feeds?.detach(socket, room);
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
