/**
 * Where a client command writes: stdout gets results only, one JSON value per line (so `jq` and scripts
 * can read it); stderr gets what a person watches (progress, "subscribed", warnings), which `--quiet`
 * silences, and the one-line failures. Binary data is written `{ "$binary": "<base64>" }`, as in the HTTP
 * API. A reader that goes away (`mailroom consume q | head -1`) ends the command at once, without settling
 * what it could not have read.
 */
import { Buffer } from "node:buffer";

/** Data as JSON can carry it: binary becomes `{ "$binary": "<base64>" }`; only the top level is binary. */
export function jsonData(data: unknown): unknown {
  if (data instanceof Uint8Array)
    return { $binary: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64") };
  return data;
}

/** Writes `value` on stdout as one line of JSON. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Writes a line for a person on stderr, unless the command was told to be quiet. */
export function notice(quiet: boolean | undefined, text: string): void {
  if (!quiet) process.stderr.write(`${text}\n`);
}

/** Writes a warning on stderr, whatever `--quiet` says. */
export function warn(command: string, text: string): void {
  process.stderr.write(`mailroom ${command}: warning: ${text}\n`);
}

/**
 * When stdout's reader is gone, writing more is pointless and acking what it never read would lose it:
 * exit now, and let the node hand unsettled messages to the next consumer.
 */
export function exitWhenStdoutCloses(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}
