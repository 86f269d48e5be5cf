/**
 * What `send` and `publish` take as a message's data, from an argument or from stdin (`-`):
 *
 * - auto (default): valid JSON is that JSON value (`'{"n":1}'`, `42`, `true`, `null`, `'"text"'`); anything
 *   else is the text itself, as a JSON string (`hello` → `"hello"`).
 * - `--json`: must be valid JSON (else a usage error).
 * - `--text`: always the text as a JSON string, even when it looks like JSON (`42` → `"42"`).
 * - `--binary`: the raw bytes, sent as binary (stdin byte for byte; an argument as its UTF-8 bytes).
 *
 * In auto and `--json`, an object whose only key is `$binary` (a base64 string) is binary, as in the HTTP
 * API, so what `consume` prints can be sent again. Text read from stdin loses one trailing newline (what
 * `echo` adds); binary keeps every byte. No data at all is `null`.
 */
import { Buffer } from "node:buffer";
import { type Command, Option } from "commander";
import { UsageError } from "./failure.js";

export type DataFormat = "auto" | "json" | "text" | "binary";

export interface DataFormatFlags {
  json?: boolean;
  text?: boolean;
  binary?: boolean;
}

/** The argument that means "read the data from stdin". */
export const STDIN_ARGUMENT = "-";

/** Adds `--json`, `--text` and `--binary` (one at most) to `command`. */
export function addDataFormatOptions(command: Command): Command {
  return command
    .addOption(new Option("--json", "the data must be valid JSON").conflicts(["text", "binary"]))
    .addOption(new Option("--text", "send the data as a JSON string, even if it looks like JSON").conflicts("binary"))
    .addOption(new Option("--binary", "send the data as raw bytes (from stdin byte for byte)"));
}

export function dataFormatOf(flags: DataFormatFlags): DataFormat {
  if (flags.json) return "json";
  if (flags.text) return "text";
  if (flags.binary) return "binary";
  return "auto";
}

/** The data a command sends: from `argument`, from stdin for `-`, `null` when there is none. */
export async function readData(argument: string | undefined, format: DataFormat): Promise<unknown> {
  if (argument === undefined) {
    if (format === "binary") return new Uint8Array(0);
    if (format === "text") return "";
    return null;
  }
  if (argument === STDIN_ARGUMENT) return interpretData(await readStdin(), format, { fromStdin: true });
  return interpretData(Buffer.from(argument, "utf8"), format, { fromStdin: false });
}

/** Turns the bytes given into the data to send, by `format`. */
export function interpretData(bytes: Uint8Array, format: DataFormat, source: { fromStdin: boolean }): unknown {
  if (format === "binary") return bytes;
  let text = Buffer.from(bytes).toString("utf8");
  if (source.fromStdin) text = text.replace(/\r?\n$/, "");
  if (format === "text") return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (format === "auto") return text;
    throw new UsageError(`the data is not valid JSON (${(error as Error).message}); drop --json to send it as text`);
  }
  return binaryFromJson(value);
}

/** `{ "$binary": "<base64>" }` → its bytes; any other value as it is. */
function binaryFromJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const encoded = (value as { $binary?: unknown }).$binary;
  if (keys.length !== 1 || keys[0] !== "$binary" || typeof encoded !== "string") return value;
  return new Uint8Array(Buffer.from(encoded, "base64"));
}

/** The whole of stdin; on a terminal, after a hint that Ctrl-D ends it. */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) process.stderr.write("reading the data from stdin: end it with Ctrl-D\n");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A message's size as the node counts it: the bytes of binary data, else of its JSON text in UTF-8. */
export function dataBytes(data: unknown): number {
  if (data instanceof Uint8Array) return data.byteLength;
  return Buffer.byteLength(JSON.stringify(data) ?? "null", "utf8");
}
