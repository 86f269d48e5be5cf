/**
 * Every queue system the bench knows, by the name it reports them under. Each is imported only when a
 * role uses it, so a role process starts without loading the other systems' clients.
 */
import type { QueueSystem } from "./queue-system.js";

const LOADERS = {
  mailroom: async () => (await import("./mailroom-queue.js")).mailroomQueue,
  bullmq: async () => (await import("./bullmq-queue.js")).bullmqQueue,
  "redis-list": async () => (await import("./reliable-list-queue.js")).reliableListQueue,
  "redis-list-pipelined": async () => (await import("./pipelined-list-queue.js")).pipelinedListQueue,
  rabbitmq: async () => (await import("./rabbitmq-queue.js")).rabbitmqQueue,
} as const satisfies Record<string, () => Promise<QueueSystem>>;

export type QueueSystemName = keyof typeof LOADERS;

export function loadQueueSystem(name: QueueSystemName): Promise<QueueSystem> {
  return LOADERS[name]();
}
