/**
 * Every setting of `mailroom serve` as one table (docs/protocol.md §9 and the node's own): its flag, its
 * environment twin, its help and how its text is read. `serve.ts` builds the command's options from it,
 * and a configuration error names the flag and the variable from it.
 */
import { ADAPTERS, ADMIN_UI_MODES, DEFAULTS, LOG_LEVELS, type NodeOptions, REDIS_MODES } from "@mailroom/server";
import { InvalidArgumentError, Option } from "commander";

type Kind = "integer" | "text" | "switch";

export interface ServeSetting {
  key: keyof NodeOptions;
  flag: string;
  env: string;
  help: string;
  kind: Kind;
  choices?: readonly string[];
}

export const SERVE_SETTINGS: readonly ServeSetting[] = [
  {
    key: "port",
    flag: "--port",
    env: "PORT",
    kind: "integer",
    help: "TCP port for HTTP and Socket.IO (0: any free one)",
  },
  { key: "host", flag: "--host", env: "HOST", kind: "text", help: "address to listen on" },
  {
    key: "redisUrl",
    flag: "--redis",
    env: "REDIS_URL",
    kind: "text",
    help: "Redis URL (redis:// or rediss://); unset runs the in-memory engine (one node). Cluster mode: a comma-separated list of seeds; sentinel mode: of Sentinels",
  },
  {
    key: "redisMode",
    flag: "--redis-mode",
    env: "MAILROOM_REDIS_MODE",
    kind: "text",
    choices: REDIS_MODES,
    help: "what --redis names: one Redis, a Redis Cluster, or Sentinels",
  },
  {
    key: "redisSentinelMaster",
    flag: "--redis-sentinel-master",
    env: "MAILROOM_REDIS_SENTINEL_MASTER",
    kind: "text",
    help: "in sentinel mode, the master's name",
  },
  {
    key: "adapter",
    flag: "--adapter",
    env: "MAILROOM_ADAPTER",
    kind: "text",
    choices: ADAPTERS,
    help: "Socket.IO's Redis adapter: classic (reached by @socket.io/redis-emitter) or sharded (SPUBLISH; default in cluster mode)",
  },
  {
    key: "redisWaitReplicas",
    flag: "--redis-wait-replicas",
    env: "MAILROOM_REDIS_WAIT_REPLICAS",
    kind: "integer",
    help: "replicas that must hold a send, ack or nack before it is answered ok (Redis WAIT)",
  },
  {
    key: "redisPrefix",
    flag: "--redis-prefix",
    env: "MAILROOM_REDIS_PREFIX",
    kind: "text",
    help: "prefix of Mailroom's Redis keys",
  },
  {
    key: "adapterKey",
    flag: "--adapter-key",
    env: "MAILROOM_ADAPTER_KEY",
    kind: "text",
    help: "key of the Socket.IO Redis adapter (share it with @socket.io/redis-emitter)",
  },
  {
    key: "redisCommandTimeoutMs",
    flag: "--redis-command-timeout-ms",
    env: "MAILROOM_REDIS_COMMAND_TIMEOUT_MS",
    kind: "integer",
    help: "a Redis command slower than this fails as UNAVAILABLE",
  },
  { key: "logLevel", flag: "--log-level", env: "LOG_LEVEL", kind: "text", choices: LOG_LEVELS, help: "log level" },
  {
    key: "maxMessageBytes",
    flag: "--max-message-bytes",
    env: "MAILROOM_MAX_MESSAGE_BYTES",
    kind: "integer",
    help: "largest message or publish, in bytes",
  },
  {
    key: "dedupWindowMs",
    flag: "--dedup-window-ms",
    env: "MAILROOM_DEDUP_WINDOW_MS",
    kind: "integer",
    help: "a producer's message id is a duplicate this long after its first acceptance",
  },
  {
    key: "visibilityMs",
    flag: "--visibility-ms",
    env: "MAILROOM_VISIBILITY_MS",
    kind: "integer",
    help: "lease length of a consumer that names none",
  },
  {
    key: "maxAttempts",
    flag: "--max-attempts",
    env: "MAILROOM_MAX_ATTEMPTS",
    kind: "integer",
    help: "deliveries before a message is dead-lettered, when it names none",
  },
  {
    key: "commandsPerSecond",
    flag: "--commands-per-second",
    env: "MAILROOM_COMMANDS_PER_SECOND",
    kind: "integer",
    help: "commands one Socket.IO connection may send per second (0: no limit)",
  },
  {
    key: "httpRequestsPerMinute",
    flag: "--http-requests-per-minute",
    env: "MAILROOM_HTTP_REQUESTS_PER_MINUTE",
    kind: "integer",
    help: "HTTP requests one client address may make per minute (0: no limit)",
  },
  {
    key: "httpRequestTimeoutMs",
    flag: "--http-request-timeout-ms",
    env: "MAILROOM_HTTP_REQUEST_TIMEOUT_MS",
    kind: "integer",
    help: "a client slower than this to send a whole HTTP request is closed",
  },
  {
    key: "jwtSecret",
    flag: "--jwt-secret",
    env: "MAILROOM_JWT_SECRET",
    kind: "text",
    help: "HS256 shared secret: turns auth on",
  },
  {
    key: "jwtPublicKey",
    flag: "--jwt-public-key",
    env: "MAILROOM_JWT_PUBLIC_KEY",
    kind: "text",
    help: "RS256/ES256 public key (PEM text or a file's path): turns auth on",
  },
  {
    key: "jwtSecretFile",
    flag: "--jwt-secret-file",
    env: "MAILROOM_JWT_SECRET_FILE",
    kind: "text",
    help: "a file holding the HS256 shared secret (kept out of the process list): turns auth on",
  },
  {
    key: "insecure",
    flag: "--insecure",
    env: "MAILROOM_INSECURE",
    kind: "switch",
    help: "allow a non-loopback --host with auth off",
  },
  {
    key: "drainDelayMs",
    flag: "--drain-delay-ms",
    env: "MAILROOM_DRAIN_DELAY_MS",
    kind: "integer",
    help: "on SIGTERM, how long /readyz answers 503 (and unacked deliveries may still be acked) before the node closes",
  },
  {
    key: "metricsMaxQueues",
    flag: "--metrics-max-queues",
    env: "MAILROOM_METRICS_MAX_QUEUES",
    kind: "integer",
    help: "queues (and namespaces) with their own /metrics series; the rest count as _other",
  },
  {
    key: "trustProxy",
    flag: "--trust-proxy",
    env: "MAILROOM_TRUST_PROXY",
    kind: "text",
    help: "proxies whose X-Forwarded-For is believed (true, or addresses/CIDRs, comma-separated), for the HTTP rate limit",
  },
  {
    key: "corsOrigins",
    flag: "--cors-origins",
    env: "MAILROOM_CORS_ORIGINS",
    kind: "text",
    help: "web origins (comma-separated, or *) let in to the HTTP API and Socket.IO; unset: no CORS headers on the API",
  },
  {
    key: "maxNamespacesPerConnection",
    flag: "--max-namespaces-per-connection",
    env: "MAILROOM_MAX_NAMESPACES_PER_CONNECTION",
    kind: "integer",
    help: "namespaces one Socket.IO connection may open (past it: connect_error limit_exceeded)",
  },
  {
    key: "maxConsumersPerConnection",
    flag: "--max-consumers-per-connection",
    env: "MAILROOM_MAX_CONSUMERS_PER_CONNECTION",
    kind: "integer",
    help: "live consumers of one Socket.IO connection, all namespaces together (past it: LIMIT_EXCEEDED)",
  },
  {
    key: "maxRoomsPerConnection",
    flag: "--max-rooms-per-connection",
    env: "MAILROOM_MAX_ROOMS_PER_CONNECTION",
    kind: "integer",
    help: "rooms one Socket.IO connection is in, all namespaces together (past it: LIMIT_EXCEEDED)",
  },
  {
    key: "maxLongPolls",
    flag: "--max-long-polls",
    env: "MAILROOM_MAX_LONG_POLLS",
    kind: "integer",
    help: "HTTP receives waiting at once on this node (past it: 429 LIMIT_EXCEEDED)",
  },
  {
    key: "roomHistorySize",
    flag: "--room-history-size",
    env: "MAILROOM_ROOM_HISTORY_SIZE",
    kind: "integer",
    help: "publications each room's history keeps for recovery (0: no history on this node; same on every node)",
  },
  {
    key: "roomHistoryTtlMs",
    flag: "--room-history-ttl-ms",
    env: "MAILROOM_ROOM_HISTORY_TTL_MS",
    kind: "integer",
    help: "a room's history is dropped this long after its last publish",
  },
  {
    key: "roomRecoveryMax",
    flag: "--room-recovery-max",
    env: "MAILROOM_ROOM_RECOVERY_MAX",
    kind: "integer",
    help: "the most publications one recovery replays (more missed: recovered false)",
  },
  {
    key: "heartbeatIntervalMs",
    flag: "--heartbeat-interval-ms",
    env: "MAILROOM_HEARTBEAT_INTERVAL_MS",
    kind: "integer",
    help: "how often a node heartbeats into Redis",
  },
  {
    key: "nodeTimeoutMs",
    flag: "--node-timeout-ms",
    env: "MAILROOM_NODE_TIMEOUT_MS",
    kind: "integer",
    help: "a node silent this long is dead; its room members drop out",
  },
  {
    key: "adminUi",
    flag: "--admin-ui",
    env: "MAILROOM_ADMIN_UI",
    kind: "switch",
    help: "serve @socket.io/admin-ui in the Socket.IO namespace /admin (read-only; admin right on * with auth on)",
  },
  {
    key: "adminUiMode",
    flag: "--admin-ui-mode",
    env: "MAILROOM_ADMIN_UI_MODE",
    kind: "text",
    choices: ADMIN_UI_MODES,
    help: "what --admin-ui tracks: production (stats) or development (also every socket and event: small deployments)",
  },
  {
    key: "dashboardSampleMs",
    flag: "--dashboard-sample-ms",
    env: "MAILROOM_DASHBOARD_SAMPLE_MS",
    kind: "integer",
    help: "how often the cluster samples its queues' totals for the dashboard's rates of the last 15 minutes (same on every node)",
  },
  {
    key: "publicUrl",
    flag: "--public-url",
    env: "MAILROOM_PUBLIC_URL",
    kind: "text",
    help: "the URL this node is reached at, as listed by the cluster",
  },
];

/** The commander option of a setting, with its default from the node's DEFAULTS. */
export function optionOf(setting: ServeSetting): Option {
  const fallback = (DEFAULTS as Partial<Record<keyof NodeOptions, unknown>>)[setting.key];
  if (setting.kind === "switch") {
    // Commander passes no value from the variable of a flag without argument: switchFromEnv reads it.
    return new Option(setting.flag, `${setting.help} (env: ${setting.env}=true|false)`).default(fallback ?? false);
  }
  const argument = setting.kind === "integer" ? "<number>" : "<value>";
  const option = new Option(`${setting.flag} ${argument}`, setting.help).env(setting.env);
  if (fallback !== undefined) option.default(fallback);
  if (setting.choices) option.choices(setting.choices);
  if (setting.kind === "integer") option.argParser(integer);
  return option;
}

/** A switch given in its variable only: true/1/yes or false/0/no (or empty). */
export function switchFromEnv(setting: ServeSetting, env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env[setting.env];
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)?$/i.test(value)) return false;
  throw new InvalidArgumentError(`${setting.env} must be true or false, got "${value}"`);
}

/** How a bad setting is named in an error: "--max-attempts (MAILROOM_MAX_ATTEMPTS)". */
export function describeSetting(key: keyof NodeOptions | undefined): string | undefined {
  const setting = SERVE_SETTINGS.find((entry) => entry.key === key);
  return setting && `${setting.flag} (${setting.env})`;
}

function integer(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isInteger(parsed)) {
    throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  }
  return parsed;
}
