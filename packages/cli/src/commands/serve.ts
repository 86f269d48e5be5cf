/**
 * `mailroom serve`: starts one node with the flags of PROTOCOL.md §9; each flag has an environment
 * twin, and a flag wins over its twin. SIGTERM or SIGINT closes the node and exits 0.
 */

import { readFileSync } from "node:fs";
import { ConfigError, createNode, DEFAULTS, LOG_LEVELS, type NodeOptions } from "@mailroom/server";
import { Command, InvalidArgumentError, Option } from "commander";

/** A node that has not closed by then exits anyway, inside the contract's 10 seconds. */
const CLOSE_DEADLINE_MS = 9000;

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return parsed;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("start a Mailroom node (memory engine without --redis, Redis cluster mode with it)")
    .addOption(
      new Option("--port <port>", "TCP port for HTTP and Socket.IO")
        .env("PORT")
        .default(DEFAULTS.port)
        .argParser(integer),
    )
    .addOption(new Option("--host <host>", "address to listen on").env("HOST").default(DEFAULTS.host))
    .addOption(new Option("--redis <url>", "Redis URL; unset runs the in-memory engine (single node)").env("REDIS_URL"))
    .addOption(
      new Option("--redis-prefix <prefix>", "prefix of Mailroom's Redis keys")
        .env("MAILROOM_REDIS_PREFIX")
        .default(DEFAULTS.redisPrefix),
    )
    .addOption(
      new Option("--adapter-key <key>", "key of the Socket.IO Redis adapter (share it with @socket.io/redis-emitter)")
        .env("MAILROOM_ADAPTER_KEY")
        .default(DEFAULTS.adapterKey),
    )
    .addOption(
      new Option("--log-level <level>", "log level").env("LOG_LEVEL").default(DEFAULTS.logLevel).choices(LOG_LEVELS),
    )
    .addOption(
      new Option("--max-message-bytes <bytes>", "largest message or publish")
        .env("MAILROOM_MAX_MESSAGE_BYTES")
        .default(DEFAULTS.maxMessageBytes)
        .argParser(integer),
    )
    .addOption(
      new Option("--commands-per-second <count>", "commands one Socket.IO connection may send per second (0: no limit)")
        .env("MAILROOM_COMMANDS_PER_SECOND")
        .default(DEFAULTS.commandsPerSecond)
        .argParser(integer),
    )
    .addOption(
      new Option(
        "--http-requests-per-minute <count>",
        "HTTP requests one client address may make per minute (0: no limit)",
      )
        .env("MAILROOM_HTTP_REQUESTS_PER_MINUTE")
        .default(DEFAULTS.httpRequestsPerMinute)
        .argParser(integer),
    )
    .addOption(
      new Option("--http-request-timeout-ms <ms>", "a client slower than this to send a whole HTTP request is closed")
        .env("MAILROOM_HTTP_REQUEST_TIMEOUT_MS")
        .default(DEFAULTS.httpRequestTimeoutMs)
        .argParser(integer),
    )
    .addOption(new Option("--jwt-secret <secret>", "HS256 shared secret: turns auth on").env("MAILROOM_JWT_SECRET"))
    .addOption(
      new Option(
        "--jwt-public-key <pem-or-path>",
        "RS256/ES256 public key (PEM text or a file's path): turns auth on",
      ).env("MAILROOM_JWT_PUBLIC_KEY"),
    )
    .addOption(new Option("--insecure", "allow a non-loopback --host with auth off").default(false))
    .addOption(
      new Option(
        "--dedup-window-ms <ms>",
        "a producer's message id is a duplicate this long after its first acceptance",
      )
        .env("MAILROOM_DEDUP_WINDOW_MS")
        .default(DEFAULTS.dedupWindowMs)
        .argParser(integer),
    )
    .addOption(
      new Option("--visibility-ms <ms>", "lease length of a consumer that names none")
        .env("MAILROOM_VISIBILITY_MS")
        .default(DEFAULTS.visibilityMs)
        .argParser(integer),
    )
    .addOption(
      new Option("--max-attempts <count>", "deliveries before a message is dead-lettered, when it names none")
        .env("MAILROOM_MAX_ATTEMPTS")
        .default(DEFAULTS.maxAttempts)
        .argParser(integer),
    )
    .addOption(
      new Option("--heartbeat-interval-ms <ms>", "how often a node heartbeats into Redis")
        .env("MAILROOM_HEARTBEAT_INTERVAL_MS")
        .default(DEFAULTS.heartbeatIntervalMs)
        .argParser(integer),
    )
    .addOption(
      new Option("--node-timeout-ms <ms>", "a node silent this long is dead; its room members drop out")
        .env("MAILROOM_NODE_TIMEOUT_MS")
        .default(DEFAULTS.nodeTimeoutMs)
        .argParser(integer),
    )
    .addOption(
      new Option("--public-url <url>", "the URL this node is reached at, as listed by the cluster").env(
        "MAILROOM_PUBLIC_URL",
      ),
    )
    .action(async (flags: ServeFlags) => {
      await serve({
        port: flags.port,
        host: flags.host,
        redisUrl: flags.redis,
        redisPrefix: flags.redisPrefix,
        adapterKey: flags.adapterKey,
        logLevel: flags.logLevel,
        maxMessageBytes: flags.maxMessageBytes,
        dedupWindowMs: flags.dedupWindowMs,
        visibilityMs: flags.visibilityMs,
        maxAttempts: flags.maxAttempts,
        heartbeatIntervalMs: flags.heartbeatIntervalMs,
        nodeTimeoutMs: flags.nodeTimeoutMs,
        publicUrl: flags.publicUrl,
        commandsPerSecond: flags.commandsPerSecond,
        httpRequestsPerMinute: flags.httpRequestsPerMinute,
        httpRequestTimeoutMs: flags.httpRequestTimeoutMs,
        jwtSecret: flags.jwtSecret,
        jwtPublicKey: flags.jwtPublicKey === undefined ? undefined : readPem(flags.jwtPublicKey),
        insecure: flags.insecure,
      });
    });
}

interface ServeFlags {
  port: number;
  host: string;
  redis?: string;
  redisPrefix: string;
  adapterKey: string;
  logLevel: NodeOptions["logLevel"];
  maxMessageBytes: number;
  dedupWindowMs: number;
  visibilityMs: number;
  maxAttempts: number;
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  publicUrl?: string;
  commandsPerSecond: number;
  httpRequestsPerMinute: number;
  httpRequestTimeoutMs: number;
  jwtSecret?: string;
  jwtPublicKey?: string;
  insecure: boolean;
}

/** The public key flag holds PEM text or the path of a PEM file. */
function readPem(value: string): string {
  return value.includes("-----BEGIN") ? value : readFileSync(value, "utf8");
}

async function serve(options: NodeOptions): Promise<void> {
  let node: ReturnType<typeof createNode>;
  try {
    node = createNode(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`mailroom serve: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = node.app.log;
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, "closing");
    // The contract promises an exit within 10 s: a close that hangs must not keep the process alive.
    setTimeout(() => {
      log.error("close took too long; exiting");
      process.exit(1);
    }, CLOSE_DEADLINE_MS).unref();
    node.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "close failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  await node.start();
}
