/**
 * The connection flags every client command shares (`--url`, `--namespace`, `--token`,
 * `--connect-timeout-ms`, each with its environment twin) and the one way a command connects: through
 * `@mailroom/client`, over WebSocket (no sticky sessions needed behind a load balancer), failing at the first
 * refused handshake or once the connect timeout has passed, with a message that says what to do.
 * After the first connection, Socket.IO reconnects by itself; a long-running command keeps going.
 */
import { connect, type MailroomClient, MailroomError } from "@mailroom/client";
import { type Command, Option } from "commander";
import { UsageError } from "./failure.js";
import { integerOption } from "./option-values.js";

/** Where a node listens when nothing else is said: `mailroom serve`'s defaults. */
export const DEFAULT_URL = "http://127.0.0.1:3000";
/** Long enough for a busy node to answer a handshake, short enough that a wrong URL fails quickly. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface ConnectionFlags {
  url: string;
  namespace: string;
  token?: string;
  connectTimeoutMs: number;
}

/** Adds the shared connection flags to `command`. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--url <url>", "the node (or load balancer) to talk to").env("MAILROOM_URL").default(DEFAULT_URL),
    )
    .addOption(
      new Option("--namespace <namespace>", "the namespace: / or /name").env("MAILROOM_NAMESPACE").default("/"),
    )
    .addOption(new Option("--token <jwt>", "the JWT to send when the node has auth on").env("MAILROOM_TOKEN"))
    .addOption(
      new Option("--connect-timeout-ms <ms>", "give up when no node has answered within this long")
        .env("MAILROOM_CONNECT_TIMEOUT_MS")
        .default(DEFAULT_CONNECT_TIMEOUT_MS)
        .argParser(integerOption({ min: 1 })),
    );
}

/** The URL checked: http(s) or ws(s), else a usage error. */
export function parseNodeUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be a URL such as ${DEFAULT_URL}, got "${url}"`);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw new UsageError(`--url must start with http://, https://, ws:// or wss://, got "${url}"`);
  }
  return parsed;
}

/**
 * A client connected to the namespace, or a `MailroomError`: the node's refusal (`UNAUTHORIZED`,
 * `FORBIDDEN`), `INVALID_NAME` for a namespace that breaks the rule, or `UNAVAILABLE` when no node answered
 * within the connect timeout. The caller closes the client.
 */
export async function openClient(flags: ConnectionFlags): Promise<MailroomClient> {
  parseNodeUrl(flags.url);
  const client = connect(flags.url, {
    namespace: flags.namespace,
    token: flags.token,
    transports: ["websocket"],
    timeout: flags.connectTimeoutMs,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new MailroomError("UNAVAILABLE", `no node answered within ${flags.connectTimeoutMs} ms`)),
      flags.connectTimeoutMs,
    );
  });
  try {
    await Promise.race([client.ready(), timedOut]);
    return client;
  } catch (error) {
    client.close();
    throw connectFailure(flags, error);
  } finally {
    clearTimeout(timer);
  }
}

/** The failure of the first handshake, said for a person at a shell. */
function connectFailure(flags: ConnectionFlags, error: unknown): unknown {
  if (!(error instanceof MailroomError)) return error;
  const where = flags.namespace === "/" ? flags.url : `${flags.url} (namespace ${flags.namespace})`;
  switch (error.code) {
    case "UNAUTHORIZED":
      return new MailroomError(
        "UNAUTHORIZED",
        `${where} refused the connection: no token or a bad one (give one with --token or MAILROOM_TOKEN)`,
        { cause: error },
      );
    case "FORBIDDEN":
      return new MailroomError(
        "FORBIDDEN",
        `${where} refused the connection: the token has no right in this namespace`,
        {
          cause: error,
        },
      );
    case "UNAVAILABLE":
      return new MailroomError("UNAVAILABLE", `cannot connect to ${where}: ${networkReason(error, flags)}`, {
        cause: error,
      });
    default:
      return error;
  }
}

/** The most precise reason a handshake failed: the network error under socket.io-client's "websocket error". */
function networkReason(error: MailroomError, flags: ConnectionFlags): string {
  if (error.message.endsWith("timeout")) return `no node answered within ${flags.connectTimeoutMs} ms`;
  const transportError = error.cause as { description?: { message?: unknown } } | undefined;
  const detail = transportError?.description?.message;
  if (typeof detail === "string" && detail.length > 0) return detail;
  return error.message;
}
