/**
 * How a `mailroom` command fails: the exit codes it ends with, and the one line it writes on stderr,
 * `mailroom <command>: <CODE>: <message>`, where CODE is the contract's error code (docs/protocol.md §8) or
 * `USAGE` for a command line the CLI itself refuses. Only the commands that talk to a node use this; `serve`
 * keeps its own handling.
 */
import { MailroomError } from "@mailroom/client";

/** The exit codes of the client commands, as docs/cli.md lists them. */
export const EXIT_CODES = {
  /** Done as asked. */
  ok: 0,
  /** The node refused or failed a command (any contract code not temporary: INVALID_NAME, UNAUTHORIZED...). */
  refused: 1,
  /** The command line is wrong: an unknown flag, a missing argument, a bad number, data that is not JSON. */
  usage: 2,
  /** No node could be reached in time, or it answered with a temporary code (UNAVAILABLE, RATE_LIMITED): retry. */
  unavailable: 3,
  /** `--timeout-ms` passed before `--max` messages or events arrived. */
  incomplete: 4,
} as const;

/** A command line the CLI refuses before it talks to any node. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A stop that is not a failure of the node: the command ends with `exitCode` after saying `message`. */
export class IncompleteError extends Error {
  override readonly name = "IncompleteError";
}

/**
 * The line written for a command line commander refuses, from commander's own message
 * (`error: unknown option '--foo'`): `mailroom send: USAGE: unknown option '--foo'`, or `mailroom: USAGE: …`
 * when no command was chosen.
 */
export function usageLine(command: string | undefined, commanderMessage: string): string {
  const message = commanderMessage.replace(/^error: /, "").trimEnd();
  return `mailroom${command === undefined ? "" : ` ${command}`}: USAGE: ${message}\n`;
}

/** The exit code that goes with an error thrown by a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (error instanceof IncompleteError) return EXIT_CODES.incomplete;
  if (error instanceof MailroomError) return error.temporary ? EXIT_CODES.unavailable : EXIT_CODES.refused;
  return EXIT_CODES.refused;
}

/** The line written on stderr for an error thrown by `command`. */
export function failureLine(command: string, error: unknown): string {
  if (error instanceof MailroomError) return `mailroom ${command}: ${error.code}: ${error.message}`;
  if (error instanceof UsageError) return `mailroom ${command}: USAGE: ${error.message}`;
  if (error instanceof IncompleteError) return `mailroom ${command}: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `mailroom ${command}: INTERNAL: ${message}`;
}

/**
 * Wraps a command's action: an error it throws is written as one line on stderr and becomes the exit code.
 * Once the action is done (its acks confirmed, its client closed), the process exits as soon as stdout and
 * stderr are flushed, rather than wait for what a library may still hold open (a socket that was still
 * connecting to a silent address, say).
 */
export function runAction<Args extends unknown[]>(
  command: string,
  action: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await action(...args);
    } catch (error) {
      process.stderr.write(`${failureLine(command, error)}\n`);
      process.exitCode = exitCodeOf(error);
    }
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit();
  };
}

/** Resolves once everything written to `stream` so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write("", () => resolve());
  });
}
