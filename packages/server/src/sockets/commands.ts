/**
 * Serves a socket's commands: each event takes one object argument and an acknowledgement callback
 * (PROTOCOL.md §3). The argument is checked against the command's schema before its handler runs, and
 * every outcome becomes one reply: `{ ok: true, ...result }` or `{ ok: false, error: { code, message } }`.
 * A command sent without a callback is not run; the socket gets `mailroom:error` instead. An unknown event
 * with a callback is answered `NOT_FOUND`. Nothing a client sends can throw out of here.
 */
import { type ErrorBody, MailroomError, parseShape } from "@mailroom/protocol";
import type { Static, TSchema } from "@sinclair/typebox";
import type { FastifyBaseLogger } from "fastify";
import type { Socket } from "socket.io";

export interface Command<Schema extends TSchema = TSchema, Result extends object = object> {
  schema: Schema;
  run(args: Static<Schema>, socket: Socket): Promise<Result>;
}

/** Declares a command, typing its handler's argument by its schema. */
export function command<Schema extends TSchema, Result extends object>(
  schema: Schema,
  run: (args: Static<Schema>, socket: Socket) => Promise<Result>,
): Command<Schema, Result> {
  return { schema, run };
}

export type CommandTable = Record<string, Command>;

type Ack = (reply: unknown) => void;

export function serveCommands(socket: Socket, commands: CommandTable, logger: FastifyBaseLogger): void {
  for (const [event, definition] of Object.entries(commands)) {
    socket.on(event, (...args: unknown[]) => void dispatch(socket, event, definition, args, logger));
  }
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (typeof event === "string" && Object.hasOwn(commands, event)) return;
    const ack = args.at(-1);
    if (typeof ack === "function") {
      reply(ack as Ack, failure(new MailroomError("NOT_FOUND", `no such command: ${String(event)}`)));
    }
  });
}

async function dispatch(
  socket: Socket,
  event: string,
  definition: Command,
  args: unknown[],
  logger: FastifyBaseLogger,
): Promise<void> {
  const ack = typeof args.at(-1) === "function" ? (args.pop() as Ack) : undefined;
  if (!ack) {
    const error = new MailroomError("BAD_REQUEST", `${event} needs an acknowledgement callback`);
    socket.emit("mailroom:error", { event, error: error.toBody() });
    return;
  }
  try {
    if (args.length !== 1) {
      throw new MailroomError("BAD_REQUEST", `${event} takes exactly one object argument`);
    }
    const result = await definition.run(parseShape(definition.schema, args[0]), socket);
    reply(ack, { ok: true, ...result });
  } catch (error) {
    if (!(error instanceof MailroomError) || error.code === "INTERNAL") {
      logger.error({ err: error, event }, "command failed");
    }
    reply(ack, failure(error));
  }
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
