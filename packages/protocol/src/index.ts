/** @mailroom/protocol: Mailroom's public contract in code (docs/protocol.md). */
export * from "./errors.js";
export * from "./events.js";
export * from "./http.js";
export * from "./names.js";
export * from "./queue-limits.js";
export * from "./queues.js";
export * from "./rooms.js";
export * from "./validate.js";
