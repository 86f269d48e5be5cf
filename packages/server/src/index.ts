/** @mailroom/server: a Mailroom node. */
export {
  ADAPTERS,
  ADMIN_UI_MODES,
  type AdapterKind,
  type AdminUiMode,
  ConfigError,
  DEFAULTS,
  LOG_LEVELS,
  type LogLevel,
  type NodeConfig,
  type NodeOptions,
  REDIS_MODES,
  type RedisMode,
  resolveConfig,
} from "./config.js";
export { createNode, type MailroomNode } from "./node.js";
