/**
 * What happens to each socket from its handshake to its end: it joins its shadow room (private-rooms.ts),
 * its commands are served, and when it goes its room memberships are removed from the registry and the
 * leases its consumers hold end at once.
 */
import type { FastifyBaseLogger } from "fastify";
import type { ConsumerDispatcher } from "../../delivery/consumer-dispatcher.js";
import type { ClusterRegistry } from "../../engines/cluster-registry.js";
import type { LimitReporter } from "../../metrics/limit-reporter.js";
import { selfRoom } from "../../operations/private-rooms.js";
import type { MailroomSocket } from "../../socket-types.js";
import { type Authorize, type CommandTable, serveCommands } from "./commands.js";
import type { InFlightCommands } from "./in-flight-commands.js";
import { leaveRoom } from "./room-commands.js";
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
  socket: MailroomSocket,
  { commands, authorize, commandsPerSecond, inFlight, registry, dispatcher, logger, reporter }: ConnectionDeps,
): void {
  socket.join(selfRoom(socket.id));
  serveCommands(socket, commands, { authorize, commandsPerSecond, inFlight, logger, reporter });
  socket.on("disconnect", () => {
    for (const room of [...joinedRooms(socket)]) void leaveRoom(socket, room, registry);
    void dispatcher.socketGone(socket);
  });
}
