/**
 * What happens to each socket from its handshake to its end: it joins its shadow room (private-rooms.ts),
 * its commands are served, and when it goes its room memberships are removed from the registry and from
 * its rooms' feeds, and the leases its consumers hold end at once. The departure's two parts run apart and log their failure, so
 * neither stops the other nor throws into Socket.IO (listener-guards.ts).
 */
import type { FastifyBaseLogger } from "fastify";
import type { ConsumerDispatcher } from "../../delivery/consumer-dispatcher.js";
import { selfRoom } from "../../delivery/private-rooms.js";
import type { RoomFeeds } from "../../delivery/room-feeds.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { LimitReporter } from "../../metrics/limit-reporter.js";
import type { MailroomSocket } from "../../socket-types.js";
import { type Authorize, type CommandTable, serveCommands } from "./commands.js";
import type { InFlightCommands } from "./in-flight-commands.js";
import { guarded } from "./listener-guards.js";
import { leaveRoom } from "./room-commands.js";
import { joinedRooms } from "./socket-state.js";

export interface ConnectionDeps {
  commands: CommandTable;
  authorize: Authorize;
  commandsPerSecond: number;
  inFlight: InFlightCommands;
  registry: ClusterRegistry;
  dispatcher: ConsumerDispatcher;
  /** This node's feeds of rooms with history; undefined when history is off. */
  feeds: RoomFeeds | undefined;
  logger: FastifyBaseLogger;
  reporter: Pick<LimitReporter, "exceeded">;
}

export function handleConnection(
  socket: MailroomSocket,
  { commands, authorize, commandsPerSecond, inFlight, registry, dispatcher, feeds, logger, reporter }: ConnectionDeps,
): void {
  socket.join(selfRoom(socket.id));
  serveCommands(socket, commands, { authorize, commandsPerSecond, inFlight, logger, reporter });
  socket.on(
    "disconnect",
    guarded(logger, "leaving the rooms of a departed socket", () =>
      Promise.all([...joinedRooms(socket)].map((room) => leaveRoom(socket, room, registry, feeds))),
    ),
  );
  socket.on(
    "disconnect",
    guarded(logger, "ending the consumers of a departed socket", () => dispatcher.socketGone(socket)),
  );
}
