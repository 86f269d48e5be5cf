/** @mailroom/server: a Mailroom node. */
export {
  ADMIN_UI_MODES,
  type AdminUiMode,
  ConfigError,
  DEFAULTS,
  LOG_LEVELS,
  type LogLevel,
  type NodeConfig,
  type NodeOptions,
  resolveConfig,
} from "./config.js";
export { createNode, type MailroomNode } from "./node.js";
