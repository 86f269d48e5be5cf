/**
 * Every queue system the bench knows, by the name it reports them under. Each is imported only when a
 * role uses it, so a role process starts without loading the other systems' clients. Also what the runs
 * need to know of a system without loading it: whether it is Mailroom, and whether it sends one message
 * at a time.
 */
import type { QueueSystem } from "./queue-system.js";

const LOADERS = {
  mailroom: async () => (await import("./mailroom-queue.js")).mailroomQueue,
  "mailroom-stock": async () => (await import("./mailroom-stock-queue.js")).mailroomStockQueue,
  bullmq: async () => (await import("./bullmq-queue.js")).bullmqQueue,
  "redis-list": async () => (await import("./reliable-list-queue.js")).reliableListQueue,
  "redis-list-pipelined": async () => (await import("./pipelined-list-queue.js")).pipelinedListQueue,
  rabbitmq: async () => (await import("./rabbitmq-queue.js")).rabbitmqQueue,
  "socketio-relay": async () => (await import("./socketio-relay-queue.js")).socketioRelayQueue,
} as const satisfies Record<string, () => Promise<QueueSystem>>;

export type QueueSystemName = keyof typeof LOADERS;

export function loadQueueSystem(name: QueueSystemName): Promise<QueueSystem> {
  return LOADERS[name]();
}

/** The systems that run on the bench's Mailroom nodes: through the SDK, or through the stock socket.io-client. */
const MAILROOM_SYSTEMS: ReadonlySet<QueueSystemName> = new Set(["mailroom", "mailroom-stock"]);

/** Whether the system is Mailroom (its nodes' CPU counts, its consumers take the Mailroom prefetch). */
export function isMailroomSystem(name: QueueSystemName): boolean {
  return MAILROOM_SYSTEMS.has(name);
}

/**
 * The systems used without a batching client: at saturation their producer keeps single sends in flight
 * rather than batches, as their users would.
 */
const ONE_AT_A_TIME_SENDERS: ReadonlySet<QueueSystemName> = new Set(["mailroom-stock", "socketio-relay"]);

export function sendsOneAtATime(name: QueueSystemName): boolean {
  return ONE_AT_A_TIME_SENDERS.has(name);
}

/**
 * The floor of Mailroom's stack (socketio-relay-queue.ts): raw Socket.IO servers that relay each message
 * and keep none. Runs start two of them as node A and node B, count their CPU as Mailroom's nodes', and
 * start the consumer before the producer (a message sent before it joined would be lost).
 */
export function isStackFloor(name: QueueSystemName): boolean {
  return name === "socketio-relay";
}
