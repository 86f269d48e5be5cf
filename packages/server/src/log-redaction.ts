/**
 * The node's pino options, which keep secrets out of its logs (docs/protocol.md §15): no token, no JWT secret,
 * no Redis password, a failed Redis `AUTH` included.
 * - Errors (logged under `err`) go through pino's serializer less the arguments of the Redis command an
 *   ioredis error carries (`command.args`: the password of a failed AUTH, a message's data); the
 *   command's name stays. Errors nested in an error (an AggregateError's, an error-valued field) too.
 * - The Authorization header of a logged request is censored.
 * - Last, a net: every line is written with the configured secrets' text (the JWT secret, the Redis
 *   password) replaced, whatever logged it. Secrets shorter than `MIN_SCRUBBED_SECRET_CHARS` are left
 *   out of the net, since replacing a common short string would garble every line.
 * Nothing logs a token, a secret or the Redis URL on purpose (logs name Redis by `host:port`): these
 * catch what a library or a future change might add.
 *
 * The lines are JSON, one per line, unless stdout is a terminal: there a person reads them, and they are
 * pretty-printed (pino-pretty: time, level, message and fields on one line). The pretty printer reads
 * the JSON lines the net above has already cleaned, so it never sees a secret either.
 */
import { type DestinationStream, type LoggerOptions, stdSerializers } from "pino";
import pinoPretty from "pino-pretty";

/** Shorter secrets are not scrubbed from lines: they would match ordinary text everywhere. */
const MIN_SCRUBBED_SECRET_CHARS = 4;
/** What stands in for a secret in a log line. */
const CENSOR = "[redacted]";

export interface NodeLogOptions {
  level: string;
  /** Text that must never be written: undefined entries are skipped. */
  secrets: ReadonlyArray<string | undefined>;
  /** Lines for a person to read instead of JSON lines. @default whether stdout is a terminal */
  pretty?: boolean;
}

/** pino options for the node's Fastify logger, with the stream to write to when it is not stdout's JSON. */
export function nodeLoggerOptions({
  level,
  secrets,
  pretty = process.stdout.isTTY === true,
}: NodeLogOptions): LoggerOptions & { stream?: DestinationStream } {
  const scrubbed = secrets
    .filter((secret): secret is string => secret !== undefined && secret.length >= MIN_SCRUBBED_SECRET_CHARS)
    // A line is JSON: a secret appears in it as its JSON-escaped text.
    .map((secret) => JSON.stringify(secret).slice(1, -1));
  return {
    level,
    redact: { paths: ["req.headers.authorization"], censor: CENSOR },
    serializers: { err: errorSerializer },
    ...(scrubbed.length > 0 ? { hooks: { streamWrite: (line: string) => scrubSecrets(line, scrubbed) } } : {}),
    ...(pretty ? { stream: prettyStdout() } : {}),
  };
}

/**
 * pino-pretty writing to stdout in this thread and synchronously (no worker thread to start, nothing lost
 * when the process exits at once), one line per entry.
 */
function prettyStdout(): DestinationStream {
  return pinoPretty({ sync: true, singleLine: true, ignore: "pid,hostname", translateTime: "SYS:HH:MM:ss.l" });
}

/** pino's error serializer, without the Redis command arguments an error carries. */
export function errorSerializer(error: unknown): unknown {
  const serialized: unknown = stdSerializers.err(error as Error);
  if (!isRecord(serialized)) return serialized;
  // pino returns what is not error-like as it is: copy it rather than change the caller's object.
  return withoutCommandArguments(serialized === error ? { ...serialized } : serialized);
}

/** Drops `command.args` from a serialized error and the errors serialized inside it (fresh objects all). */
function withoutCommandArguments(serialized: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(serialized)) {
    if (key === "command" && isRecord(value)) {
      serialized.command = { name: value.name };
    } else if (key === "aggregateErrors" && Array.isArray(value)) {
      serialized.aggregateErrors = value.map((entry: unknown) =>
        isRecord(entry) ? withoutCommandArguments(entry) : entry,
      );
    } else if (isRecord(value) && isSerializedError(value)) {
      withoutCommandArguments(value);
    }
  }
  return serialized;
}

function scrubSecrets(line: string, secrets: readonly string[]): string {
  let clean = line;
  for (const secret of secrets) if (clean.includes(secret)) clean = clean.split(secret).join(CENSOR);
  return clean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** An object pino's error serializer made (it has its `raw` error); the caller's own objects are not. */
function isSerializedError(value: Record<string, unknown>): boolean {
  return "raw" in value && typeof value.type === "string" && typeof value.message === "string";
}
