/** @mailroom/server: a Mailroom node. */
export {
  ConfigError,
  DEFAULTS,
  LOG_LEVELS,
  type LogLevel,
  type NodeConfig,
  type NodeOptions,
  resolveConfig,
} from "./config.js";
export { createNode, type MailroomNode } from "./node.js";
