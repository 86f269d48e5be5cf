/**
 * A node's configuration: every setting with its default, validated once at start and then frozen.
 * The CLI maps flags and environment variables onto `NodeOptions`; nothing else reads the environment.
 *
 * `jwtSecretFile` is read here, once, when the config is resolved, not by the CLI:
 * `createNode({ jwtSecretFile })` works for a library user as for `mailroom serve`, and an unreadable or
 * empty file is a `ConfigError` like any bad setting. The resolved config then holds the secret in
 * `jwtSecret` (and the path in `jwtSecretFile`); the file is not read again. A bad public key is refused
 * when the node is created (auth/token-verifier.ts), also as a `ConfigError`.
 */

import { readFileSync } from "node:fs";
import { QUEUE_DEFAULTS, QUEUE_LIMITS } from "@mailroom/protocol";
import { corsOriginsProblem } from "./cors-origins.js";
import { maskRedisUrl } from "./engines/redis/redis-url.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * How much `@socket.io/admin-ui` tracks: `production`, its server and namespace stats and aggregated
 * counts; `development`, also every socket, room and event, each streamed to the admin namespace.
 */
export const ADMIN_UI_MODES = ["production", "development"] as const;
export type AdminUiMode = (typeof ADMIN_UI_MODES)[number];

/** How a node reaches Redis (docs/protocol.md §14): one server, a Redis Cluster, or a master found through Sentinel. */
export const REDIS_MODES = ["standalone", "cluster", "sentinel"] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

/**
 * Socket.IO's Redis adapter: `classic` (PUBLISH on the channels `@socket.io/redis-emitter` uses) or
 * `sharded` (SPUBLISH on a channel per room, spread over a cluster's masters; Redis >= 7).
 */
export const ADAPTERS = ["classic", "sharded"] as const;
export type AdapterKind = (typeof ADAPTERS)[number];

export interface NodeOptions {
  /** TCP port of HTTP and Socket.IO; 0 picks a free one. @default 3000 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /**
   * Redis URL; unset runs the embedded in-memory engine (single node). In cluster mode a comma-separated
   * list of seed URLs, in sentinel mode of Sentinel URLs. @default undefined
   */
  redisUrl?: string;
  /** What `redisUrl` names: `standalone`, `cluster` or `sentinel` (docs/protocol.md §14). @default "standalone" */
  redisMode?: RedisMode;
  /** In sentinel mode, the name the Sentinels know the master by. @default "mymaster" */
  redisSentinelMaster?: string;
  /** Socket.IO's Redis adapter (`ADAPTERS`). @default "sharded" in cluster mode, else "classic" */
  adapter?: AdapterKind;
  /**
   * Replicas that must hold a send, ack or nack before it is answered `ok` (Redis `WAIT`, bounded by the
   * command timeout; short of them the answer is `UNAVAILABLE`). 0 answers once the master has it. @default 0
   */
  redisWaitReplicas?: number;
  /** Prefix of every Mailroom key and channel in Redis (no `{` or `}`). @default "mailroom" */
  redisPrefix?: string;
  /** Key of the Socket.IO Redis adapter, which `@socket.io/redis-emitter` must share. @default "socket.io" */
  adapterKey?: string;
  /** pino log level. @default "info" */
  logLevel?: LogLevel;
  /** Largest message or publish, in bytes of binary data or of JSON text. @default 1048576 */
  maxMessageBytes?: number;
  /** A producer's message id is a duplicate this long after its first acceptance, in ms. @default 300000 */
  dedupWindowMs?: number;
  /** Lease length of a consumer that names none, in ms. @default 30000 */
  visibilityMs?: number;
  /** Deliveries of a message that names no `maxAttempts` before it is dead-lettered. @default 5 */
  maxAttempts?: number;
  /** How often a node writes its heartbeat to Redis, in ms. @default 1000 */
  heartbeatIntervalMs?: number;
  /** A node whose heartbeat is older than this is dead: its memberships drop out. @default 5000 */
  nodeTimeoutMs?: number;
  /** How long a Redis command may take before it fails as `UNAVAILABLE`, in ms. @default 2000 */
  redisCommandTimeoutMs?: number;
  /** The URL other nodes and operators reach this node at. @default "http://<host>:<port>" */
  publicUrl?: string;
  /** Commands per second one Socket.IO connection may send (0: no limit). @default 10000 */
  commandsPerSecond?: number;
  /**
   * HTTP requests per minute one client address may make (0: no limit); health, readiness, metrics and
   * the docs are exempt. @default 60000
   */
  httpRequestsPerMinute?: number;
  /**
   * How long a client may take to send a whole HTTP request (headers and body), in ms; a slower one is
   * closed. It bounds receiving the request, not the answer (a long-poll may wait longer). @default 30000
   */
  httpRequestTimeoutMs?: number;
  /** HS256 shared secret: turns auth on. @default undefined */
  jwtSecret?: string;
  /** RS256/ES256 public key as PEM text: turns auth on. @default undefined */
  jwtPublicKey?: string;
  /** Listen on a non-loopback address with auth off. @default false */
  insecure?: boolean;
  /**
   * On SIGTERM, how long the node keeps answering `/readyz` with 503 before it closes its listener, so
   * load balancers see it leave; consumers' unacked deliveries get as long to be acked before they return
   * to their queues. The whole drain stays within 10 s. @default 1000
   */
  drainDelayMs?: number;
  /** Distinct (namespace, queue) pairs, and namespaces, with their own metric series. @default 1000 */
  metricsMaxQueues?: number;
  /**
   * Proxies whose `X-Forwarded-For` is believed, so the HTTP rate limit and logs see the client's address
   * behind a load balancer: `true` (any), or a comma-separated list of addresses and CIDR ranges.
   * @default undefined (none: the peer's address counts)
   */
  trustProxy?: string;
  /**
   * Reads the HS256 shared secret from this file (its text, one trailing newline dropped), so the secret
   * need not appear in a process list. Turns auth on. @default undefined
   */
  jwtSecretFile?: string;
  /** Namespaces one Socket.IO connection may open, `/` included (docs/protocol.md §15). @default 32 */
  maxNamespacesPerConnection?: number;
  /** Live consumers of one Socket.IO connection, all its namespaces together (§15). @default 256 */
  maxConsumersPerConnection?: number;
  /** Rooms one Socket.IO connection is in through `room:join`, all its namespaces together (§15). @default 10000 */
  maxRoomsPerConnection?: number;
  /** HTTP receives waiting at once on this node (§15). @default 10000 */
  maxLongPolls?: number;
  /**
   * Publications each room's history keeps (docs/protocol.md §10), for recovery after a reconnect; 0 turns
   * history off on this node (publishes then go through Socket.IO's adapter, with no offset). Every node of
   * a cluster needs the same value. @default 100
   */
  roomHistorySize?: number;
  /** A room's history is dropped this long after its last publish (§10). @default 600000 */
  roomHistoryTtlMs?: number;
  /** The most publications one recovery replays, and one gap repair reads (§10). @default 300 */
  roomRecoveryMax?: number;
  /**
   * Instruments the node for the stock `@socket.io/admin-ui` (docs/protocol.md §16), read-only, in the
   * Socket.IO namespace `/admin`, under the node's id as its server id; with auth on, only a token with
   * the `admin` right on `*` may connect to it. While on, `/admin` is no Mailroom namespace. @default false
   */
  adminUi?: boolean;
  /**
   * What the admin UI tracks (`ADMIN_UI_MODES`): `development` streams every event of every socket to
   * the admin namespace, through Redis to every node, whether an admin watches or not; only for small
   * deployments. @default "production"
   */
  adminUiMode?: AdminUiMode;
  /**
   * How often the cluster samples the queues' running totals for the dashboard's rates of the last 15
   * minutes (docs/protocol.md §12), in ms: one node takes each sample, whichever asks first. Every node of a
   * cluster needs the same value. @default 10000
   */
  dashboardSampleMs?: number;
  /**
   * Browser origins that may call the HTTP API and connect with Socket.IO (docs/protocol.md §16): `*`, or a
   * comma-separated list of origins as browsers send them (`https://app.example.com,http://localhost:5173`).
   * Unset, the HTTP API sends no CORS headers and Socket.IO answers every origin. Never with credentials
   * for `*`. @default undefined
   */
  corsOrigins?: string;
}

type OptionalSettings =
  | "redisUrl"
  | "publicUrl"
  | "jwtSecret"
  | "jwtPublicKey"
  | "trustProxy"
  | "jwtSecretFile"
  | "corsOrigins";

export type NodeConfig = Readonly<Required<Omit<NodeOptions, OptionalSettings>>> & {
  readonly [Setting in OptionalSettings]: string | undefined;
};

export const DEFAULTS = {
  port: 3000,
  host: "127.0.0.1",
  redisPrefix: "mailroom",
  redisMode: "standalone",
  redisSentinelMaster: "mymaster",
  redisWaitReplicas: 0,
  adapterKey: "socket.io",
  logLevel: "info",
  maxMessageBytes: 1_048_576,
  dedupWindowMs: QUEUE_DEFAULTS.dedupWindowMs,
  visibilityMs: QUEUE_DEFAULTS.visibilityMs,
  maxAttempts: QUEUE_DEFAULTS.maxAttempts,
  heartbeatIntervalMs: 1000,
  nodeTimeoutMs: 5000,
  redisCommandTimeoutMs: 2000,
  commandsPerSecond: 10_000,
  httpRequestsPerMinute: 60_000,
  httpRequestTimeoutMs: 30_000,
  insecure: false,
  drainDelayMs: 1000,
  metricsMaxQueues: 1000,
  maxNamespacesPerConnection: 32,
  maxConsumersPerConnection: 256,
  maxRoomsPerConnection: 10_000,
  maxLongPolls: 10_000,
  roomHistorySize: 100,
  roomHistoryTtlMs: 600_000,
  roomRecoveryMax: 300,
  adminUi: false,
  adminUiMode: "production",
  dashboardSampleMs: 10_000,
} as const satisfies Partial<NodeOptions>;

/** At 100 ms, 15 minutes of samples are 9,000 of them: fine for tests, the least worth allowing. */
const MIN_DASHBOARD_SAMPLE_MS = 100;

/** The drain delay leaves room for closing within the contract's 10 s. */
export const MAX_DRAIN_DELAY_MS = 5000;

/** Thrown at start for a setting out of its range; its message names the setting and what it accepts. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  /**
   * @param setting the bad setting, when one is to blame (the CLI names its flag and variable)
   * @param problem what is wrong, without the setting's name: "must be an integer from 1 to 100, got 0"
   */
  constructor(
    readonly setting: keyof NodeOptions | undefined,
    readonly problem: string,
  ) {
    super(setting === undefined ? problem : `${setting} ${problem}`);
  }
}

function integerIn(name: keyof NodeOptions, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveConfig(options: NodeOptions = {}): NodeConfig {
  const merged = { ...DEFAULTS, ...stripUndefined(options) };
  if (!LOG_LEVELS.includes(merged.logLevel)) {
    throw new ConfigError("logLevel", `must be one of ${LOG_LEVELS.join(", ")}, got ${merged.logLevel}`);
  }
  if (!ADMIN_UI_MODES.includes(merged.adminUiMode)) {
    throw new ConfigError("adminUiMode", `must be one of ${ADMIN_UI_MODES.join(", ")}, got ${merged.adminUiMode}`);
  }
  if (!/^[^{}\s]{1,64}$/.test(merged.redisPrefix)) {
    throw new ConfigError("redisPrefix", `must be 1-64 characters without braces or spaces, got ${merged.redisPrefix}`);
  }
  if (!REDIS_MODES.includes(merged.redisMode)) {
    throw new ConfigError("redisMode", `must be one of ${REDIS_MODES.join(", ")}, got ${merged.redisMode}`);
  }
  if (merged.redisUrl !== undefined) checkRedisUrls(merged.redisUrl, merged.redisMode);
  if (merged.adapter !== undefined && !ADAPTERS.includes(merged.adapter)) {
    throw new ConfigError("adapter", `must be one of ${ADAPTERS.join(", ")}, got ${merged.adapter}`);
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(merged.redisSentinelMaster)) {
    throw new ConfigError(
      "redisSentinelMaster",
      `must be a master name of 1-128 letters, digits, dots, dashes or underscores, got ${merged.redisSentinelMaster}`,
    );
  }
  integerIn("redisWaitReplicas", merged.redisWaitReplicas, 0, 16);
  integerIn("port", merged.port, 0, 65535);
  integerIn("maxMessageBytes", merged.maxMessageBytes, 1, 64 * 1_048_576);
  integerIn("commandsPerSecond", merged.commandsPerSecond, 0, 1_000_000);
  integerIn("httpRequestsPerMinute", merged.httpRequestsPerMinute, 0, 60_000_000);
  integerIn("httpRequestTimeoutMs", merged.httpRequestTimeoutMs, 1000, 3_600_000);
  integerIn("dedupWindowMs", merged.dedupWindowMs, 0, 7 * 24 * 3_600_000);
  integerIn("visibilityMs", merged.visibilityMs, QUEUE_LIMITS.minVisibilityMs, QUEUE_LIMITS.maxVisibilityMs);
  integerIn("maxAttempts", merged.maxAttempts, QUEUE_LIMITS.minMaxAttempts, QUEUE_LIMITS.maxMaxAttempts);
  integerIn("heartbeatIntervalMs", merged.heartbeatIntervalMs, 50, 60_000);
  integerIn("nodeTimeoutMs", merged.nodeTimeoutMs, merged.heartbeatIntervalMs * 2, 600_000);
  integerIn("redisCommandTimeoutMs", merged.redisCommandTimeoutMs, 50, 60_000);
  integerIn("drainDelayMs", merged.drainDelayMs, 0, MAX_DRAIN_DELAY_MS);
  integerIn("metricsMaxQueues", merged.metricsMaxQueues, 1, 100_000);
  integerIn("maxNamespacesPerConnection", merged.maxNamespacesPerConnection, 1, 10_000);
  integerIn("maxConsumersPerConnection", merged.maxConsumersPerConnection, 1, 100_000);
  integerIn("maxRoomsPerConnection", merged.maxRoomsPerConnection, 1, 1_000_000);
  integerIn("maxLongPolls", merged.maxLongPolls, 1, 1_000_000);
  integerIn("roomHistorySize", merged.roomHistorySize, 0, 100_000);
  integerIn("roomHistoryTtlMs", merged.roomHistoryTtlMs, 1000, 30 * 24 * 3_600_000);
  integerIn("roomRecoveryMax", merged.roomRecoveryMax, 0, 100_000);
  integerIn("dashboardSampleMs", merged.dashboardSampleMs, MIN_DASHBOARD_SAMPLE_MS, 60_000);
  if (merged.trustProxy !== undefined && !/^(true|[0-9A-Fa-f:./]+(,[0-9A-Fa-f:./]+)*)$/.test(merged.trustProxy)) {
    throw new ConfigError(
      "trustProxy",
      `must be true or a comma-separated list of addresses, got ${merged.trustProxy}`,
    );
  }
  const corsProblem = merged.corsOrigins === undefined ? undefined : corsOriginsProblem(merged.corsOrigins);
  if (corsProblem !== undefined) throw new ConfigError("corsOrigins", corsProblem);
  if (merged.jwtSecret !== undefined && merged.jwtPublicKey !== undefined) {
    throw new ConfigError(undefined, "give either a JWT secret or a JWT public key, not both");
  }
  if (merged.jwtSecretFile !== undefined && (merged.jwtSecret !== undefined || merged.jwtPublicKey !== undefined)) {
    throw new ConfigError("jwtSecretFile", "cannot be given with a JWT secret or a JWT public key: give one key");
  }
  if (merged.jwtSecret === "") throw new ConfigError("jwtSecret", "must not be empty");
  const jwtSecret = merged.jwtSecretFile === undefined ? merged.jwtSecret : readJwtSecretFile(merged.jwtSecretFile);
  const authOn = jwtSecret !== undefined || merged.jwtPublicKey !== undefined;
  if (!authOn && !merged.insecure && !isLoopback(merged.host)) {
    throw new ConfigError(
      undefined,
      `refusing to listen on ${merged.host} with auth off: set a JWT key (--jwt-secret, --jwt-secret-file or ` +
        "--jwt-public-key), listen on a loopback address, or pass --insecure",
    );
  }
  return Object.freeze({
    ...merged,
    adapter: merged.adapter ?? (merged.redisMode === "cluster" ? "sharded" : "classic"),
    redisUrl: merged.redisUrl,
    publicUrl: merged.publicUrl,
    jwtSecret,
    jwtPublicKey: merged.jwtPublicKey,
    trustProxy: merged.trustProxy,
    jwtSecretFile: merged.jwtSecretFile,
    corsOrigins: merged.corsOrigins,
  });
}

/** One URL in standalone mode, a comma-separated list of them in cluster and sentinel mode. */
function checkRedisUrls(text: string, mode: RedisMode): void {
  const urls = text.split(",").map((url) => url.trim());
  if (mode === "standalone" && urls.length > 1) {
    throw new ConfigError(
      "redisUrl",
      "must be one URL in standalone mode: for a list of cluster seeds or Sentinels, set the Redis mode to cluster or sentinel",
    );
  }
  for (const url of urls) {
    if (!/^rediss?:\/\/[^\s,]+$/.test(url)) {
      throw new ConfigError(
        "redisUrl",
        `must start with redis:// or rediss:// (each URL of a list), got ${maskRedisUrl(url)}`,
      );
    }
  }
}

/** The secret a `jwtSecretFile` holds: its text, one trailing newline dropped (as `echo` and editors add one). */
function readJwtSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError("jwtSecretFile", `must name a readable file, could not read ${path} (${reason})`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new ConfigError("jwtSecretFile", `must hold a secret, ${path} is empty`);
  return secret;
}

/** Loopback: 127.0.0.0/8, ::1 and localhost (docs/protocol.md §7). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
