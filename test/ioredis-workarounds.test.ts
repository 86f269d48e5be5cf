/**
 * The ioredis workaround (engines/redis/ioredis-workarounds.ts): a sharded subscriber that the cluster
 * client stopped keeps an "error" listener, so a reply that reaches its connection after the stop (Redis's
 * own `sunsubscribe` after a graceful failover) cannot throw an uncaught exception and end the node.
 */
import { EventEmitter } from "node:events";
import { expect, it } from "vitest";
import { ShardedSubscriber } from "../packages/server/src/engines/redis/ioredis-workarounds.js";
import { startRedis } from "./helpers/redis.js";

it("leaves a stopped sharded subscriber's connection with an error listener", async () => {
  const redis = await startRedis();
  const subscriber = new ShardedSubscriber(new EventEmitter(), { host: "127.0.0.1", port: redis.port });
  await subscriber.start();
  const connection = subscriber.getInstance();
  if (!connection) throw new Error("the subscriber has no connection");

  subscriber.stop();

  expect(connection.listenerCount("error")).toBe(1);
  // What ioredis's reply parser does with a reply no command waits for.
  expect(() =>
    connection.emit("error", new Error("Command queue state error. Last reply: sunsubscribe")),
  ).not.toThrow();
});
