/**
 * The one way a command reaches a node (docs/protocol.md §3): emit with an acknowledgement and a timeout, then
 * turn the reply into a result or a `MailroomError`. `{ ok: true, ...result }` resolves with the result
 * (without `ok`); `{ ok: false, error }` rejects with the error's code; no answer in time, or a connection
 * that closed before the answer came, rejects with `UNAVAILABLE` (safe to retry).
 * It does not retry and does not know about rooms or queues: handles build their commands on top of it.
 */
import {
  type ClientToServerEvents,
  type CommandName,
  type Commands,
  isErrorCode,
  MailroomError,
  type ServerToClientEvents,
} from "@mailroom/protocol";
import type { Socket } from "socket.io-client";

/** The socket.io-client socket of a Mailroom client, typed by the protocol's event maps. */
export type MailroomSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What a command resolves with: its result on success, without the reply's `ok`. */
export type CommandResult<Name extends CommandName> = Commands[Name]["result"];

/** Sends one command; bound by the client to its socket and timeout, and handed to every handle. */
export type SendCommand = <Name extends CommandName>(
  name: Name,
  args: Commands[Name]["args"],
) => Promise<CommandResult<Name>>;

interface UntypedEmitter {
  emitWithAck(event: string, args: unknown): Promise<unknown>;
}

/** What socket.io-client rejects with when the acknowledgement did not come within the timeout. */
const ACK_TIMEOUT_MESSAGE = "operation has timed out";

/** Emits `name` with `args` and resolves with the result, or rejects with a `MailroomError`. */
export async function sendCommand<Name extends CommandName>(
  socket: MailroomSocket,
  name: Name,
  args: Commands[Name]["args"],
  timeoutMs: number,
): Promise<CommandResult<Name>> {
  let reply: unknown;
  try {
    // The event maps type each command exactly, but TypeScript cannot follow them through a generic name;
    // the reply is checked at run time below.
    const timed = socket.timeout(timeoutMs) as unknown as UntypedEmitter;
    reply = await timed.emitWithAck(name, args);
  } catch (error) {
    throw unanswered(name, timeoutMs, error);
  }
  return unwrapReply(name, reply) as CommandResult<Name>;
}

function unanswered(name: string, timeoutMs: number, cause: unknown): MailroomError {
  const timedOut = cause instanceof Error && cause.message === ACK_TIMEOUT_MESSAGE;
  const message = timedOut
    ? `${name} got no answer within ${timeoutMs} ms: retry`
    : `${name} got no answer: the connection closed first: retry`;
  return new MailroomError("UNAVAILABLE", message, { cause });
}

/** `{ ok: true, ...result }` → result; `{ ok: false, error }` → thrown `MailroomError`. */
function unwrapReply(name: string, reply: unknown): object {
  if (typeof reply !== "object" || reply === null || !("ok" in reply)) {
    throw new MailroomError("INTERNAL", `${name} got a reply that is not { ok, ... }`);
  }
  const { ok, ...rest } = reply as { ok: unknown; error?: unknown };
  if (ok === true) return rest;
  throw replyError(name, rest.error);
}

function replyError(name: string, error: unknown): MailroomError {
  const { code, message } = (typeof error === "object" && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  const text = typeof message === "string" ? message : `${name} failed`;
  return new MailroomError(isErrorCode(code) ? code : "INTERNAL", text);
}
