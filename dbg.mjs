import { MemoryQueueEngine } from "./packages/server/dist/engines/memory/memory-queue-engine.js";

const e = new MemoryQueueEngine({ dedupWindowMs: 1000 });
const a = { namespace: "/", queue: "orders" };
const m = (id, o = {}) => ({
  id,
  chosenByProducer: false,
  body: Buffer.from(id),
  delayMs: 0,
  ttlMs: 0,
  maxAttempts: 5,
  priority: 0,
  ...o,
});
console.log(await e.send(a, [m("1", { group: "order-1" })]));
console.log("sent 1");
console.log(await e.send(a, [m("2", { group: "order-1" })]));
console.log("sent 2");
