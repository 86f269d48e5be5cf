/**
 * What happens to each socket from its handshake to its end: it joins its shadow room (private-rooms.ts),
 * its commands are served, and when it goes its room memberships are removed from the registry and the
 * leases its consumers hold end at once.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Socket } from "socket.io";
import type { ClusterRegistry } from "../cluster/registry.js";
import type { LimitReporter } from "../limit-reporter.js";
import type { ConsumerDispatcher } from "../queues/consumer-dispatcher.js";
import { leaveRoom } from "../rooms/room-commands.js";
import { type Authorize, type CommandTable, serveCommands } from "./commands.js";
import type { InFlightCommands } from "./in-flight-commands.js";
import { selfRoom } from "./private-rooms.js";
import { joinedRooms } from "./socket-state.js";

export interface ConnectionDeps {
  commands: CommandTable;
  authorize: Authorize;
  commandsPerSecond: number;
  inFlight: InFlightCommands;
  registry: ClusterRegistry;
  dispatcher: ConsumerDispatcher;
  logger: FastifyBaseLogger;
  reporter: Pick<LimitReporter, "exceeded">;
}

export function handleConnection(
  socket: Socket,
  { commands, authorize, commandsPerSecond, inFlight, registry, dispatcher, logger, reporter }: ConnectionDeps,
): void {
  socket.join(selfRoom(socket.id));
  serveCommands(socket, commands, { authorize, commandsPerSecond, inFlight, logger, reporter });
  socket.on("disconnect", () => {
    for (const room of [...joinedRooms(socket)]) void leaveRoom(socket, room, registry);
    void dispatcher.socketGone(socket);
  });
}
