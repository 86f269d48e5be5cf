/**
 * A workaround for an ioredis 5.11 bug that ends the process, applied once when this module loads
 * (redis-clients.ts imports it before it makes a cluster client).
 *
 * When a cluster client stops one of its sharded subscribers (its node no longer serves slots: a graceful
 * failover, a slot migration), ioredis disconnects the subscriber's connection and removes every listener,
 * its "error" one included, while the socket may still deliver a reply already on its way: Redis's own
 * `sunsubscribe` of the channels of the slots that moved (redis#12577). ioredis then emits "error"
 * ("Command queue state error") on an emitter with no listener, which throws from the socket's data
 * handler: an uncaught exception, and the node exits. Found by the chaos scenario of graceful failovers.
 * Here a stopped subscriber's connection keeps one listener, which ignores what comes after the stop.
 */
import { createRequire } from "node:module";

type ShardedSubscriberModule = typeof import("ioredis/built/cluster/ShardedSubscriber.js");

/** ioredis's class, from the very module its cluster client requires (CommonJS: the class is `default`). */
export const ShardedSubscriber = (
  createRequire(import.meta.url)("ioredis/built/cluster/ShardedSubscriber.js") as ShardedSubscriberModule
).default;
type ShardedSubscriberInstance = InstanceType<typeof ShardedSubscriber>;

const ignore = () => {};
const stop = ShardedSubscriber.prototype.stop;

ShardedSubscriber.prototype.stop = function stopKeepingAnErrorListener(this: ShardedSubscriberInstance) {
  const connection = this.getInstance();
  stop.call(this);
  connection?.on("error", ignore);
};
