/**
 * Serves a socket's commands: each event takes one object argument and an acknowledgement callback
 * (docs/protocol.md §3). The argument is checked against the command's schema before its handler runs, and
 * every outcome becomes one reply: `{ ok: true, ...result }` or `{ ok: false, error: { code, message } }`.
 * A command sent without a callback is not run; the socket gets `mailroom:error` instead. An unknown event
 * with a callback is answered `NOT_FOUND`. Nothing a client sends can throw out of here. Once the node's
 * drain closes `inFlight`, commands are answered `UNAVAILABLE` without running. A command past the
 * connection's rate is answered `RATE_LIMITED` without running, and reported (limit-reporter.ts).
 * Acks and nacks run from the socket's any-listener, in their packet's own tick: Socket.IO runs an event's
 * listeners a tick later and drops them once the socket disconnected, which would lose an ack a client
 * sent right before it disconnected, and deliver its message again.
 */
import {
  COMMAND_ARGS,
  type CommandName,
  type Commands,
  type ErrorBody,
  MailroomError,
  parseShape,
  SETTLING_COMMANDS,
} from "@mailroom/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { Requirement } from "../../auth/rights.js";
import type { LimitReporter } from "../../metrics/limit-reporter.js";
import type { MailroomSocket } from "../../socket-types.js";
import { CommandRateLimit } from "./command-rate-limit.js";
import type { InFlightCommands } from "./in-flight-commands.js";
import { userOf } from "./socket-state.js";

/**
 * One command's handler: the right it needs, and what it does with its argument, which has passed the
 * command's schema (`COMMAND_ARGS`). Argument and result are typed by the protocol's `Commands`.
 */
export interface Command<Name extends CommandName> {
  /** The right the command needs in the socket's namespace, once auth is on. */
  requirement: Requirement;
  run(args: Commands[Name]["args"], socket: MailroomSocket): Promise<Commands[Name]["result"]>;
}

/** Throws `FORBIDDEN` when the socket may not do what the requirement says; undefined with auth off. */
export type Authorize = ((socket: MailroomSocket, requirement: Requirement) => void) | undefined;

/** Handlers by command name; a table may serve some of the commands (rooms, queues). */
export type CommandTable = { [Name in CommandName]?: Command<Name> };

type Ack = (reply: unknown) => void;

export interface ServeOptions {
  authorize: Authorize;
  /** Commands per second one connection may send; 0: no limit. */
  commandsPerSecond: number;
  logger: FastifyBaseLogger;
  /** The node's running commands, which its drain waits for. */
  inFlight: InFlightCommands;
  /** Told of each command refused for the rate. */
  reporter: Pick<LimitReporter, "exceeded">;
}

export function serveCommands(socket: MailroomSocket, commands: CommandTable, options: ServeOptions): void {
  const { authorize, logger, inFlight, reporter } = options;
  const limit = options.commandsPerSecond > 0 ? new CommandRateLimit(options.commandsPerSecond) : undefined;
  const serve = (event: CommandName, args: unknown[]) => {
    if (limit && !limit.take()) {
      reporter.exceeded("commands_per_second", socket.nsp.name, userOf(socket));
      refuse(
        socket,
        event,
        args,
        new MailroomError("RATE_LIMITED", "too many commands on this connection: retry later"),
      );
      return;
    }
    const definition = commands[event] as Command<CommandName>;
    try {
      void inFlight.track(() => dispatch(socket, event, definition, args, authorize, logger));
    } catch (error) {
      refuse(socket, event, args, error as MailroomError);
    }
  };
  for (const event of Object.keys(commands) as CommandName[]) {
    if (!SETTLING_COMMANDS.has(event)) socket.on(event, (...args: unknown[]) => serve(event, args));
  }
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (typeof event === "string" && Object.hasOwn(commands, event)) {
      if (SETTLING_COMMANDS.has(event as CommandName)) serve(event as CommandName, args);
      return;
    }
    const ack = args.at(-1);
    if (typeof ack === "function") {
      reply(ack as Ack, failure(new MailroomError("NOT_FOUND", `no such command: ${String(event)}`)));
    }
  });
}

async function dispatch(
  socket: MailroomSocket,
  event: CommandName,
  definition: Command<CommandName>,
  args: unknown[],
  authorize: Authorize,
  logger: FastifyBaseLogger,
): Promise<void> {
  const ack = typeof args.at(-1) === "function" ? (args.pop() as Ack) : undefined;
  if (!ack) {
    const error = new MailroomError("BAD_REQUEST", `${event} needs an acknowledgement callback`);
    socket.emit("mailroom:error", { event, error: error.toBody() });
    return;
  }
  try {
    authorize?.(socket, definition.requirement);
    if (args.length !== 1) {
      throw new MailroomError("BAD_REQUEST", `${event} takes exactly one object argument`);
    }
    const argument = parseShape(COMMAND_ARGS[event], args[0]) as Commands[CommandName]["args"];
    const result = await definition.run(argument, socket);
    reply(ack, { ok: true, ...result });
  } catch (error) {
    if (!(error instanceof MailroomError) || error.code === "INTERNAL") {
      logger.error({ err: error, event }, "command failed");
    }
    reply(ack, failure(error));
  }
}

/** Answers a command that will not run, through its callback or else `mailroom:error`. */
function refuse(socket: MailroomSocket, event: string, args: unknown[], error: MailroomError): void {
  const ack = args.at(-1);
  if (typeof ack === "function") reply(ack as Ack, failure(error));
  else socket.emit("mailroom:error", { event, error: error.toBody() });
}

function failure(error: unknown): { ok: false; error: ErrorBody } {
  if (error instanceof MailroomError) return { ok: false, error: error.toBody() };
  return { ok: false, error: { code: "INTERNAL", message: "internal error" } };
}

function reply(ack: Ack, body: unknown): void {
  try {
    ack(body);
  } catch {
    // The socket is gone: nobody is left to answer.
  }
}
