#!/usr/bin/env node --expose-gc
// Sends and acks 1,000,000 messages through one Mailroom node on the memory engine (in this process,
// over a real Socket.IO connection on loopback) and prints throughput and the heap before and after,
// to show that memory returns to its starting level. Not a test: a measurement.
// Usage: node --expose-gc scripts/measure-memory-node.mjs [messages]   (after npm run build)
import { createNode } from "@mailroom/server";
import { io } from "socket.io-client";

const MESSAGES = Number(process.argv[2] ?? 1_000_000);
const BATCH = 1000;
const PREFETCH = 1000;
const IN_FLIGHT_BATCHES = 4;

if (typeof global.gc !== "function") {
  console.error("run with node --expose-gc");
  process.exit(2);
}

const heapMiB = () => {
  global.gc();
  return Number((process.memoryUsage().heapUsed / 1_048_576).toFixed(1));
};

const node = createNode({ port: 0, logLevel: "warn" });
const url = await node.start();
const producer = io(url, { transports: ["websocket"], forceNew: true });
const consumer = io(url, { transports: ["websocket"], forceNew: true });
await Promise.all([producer, consumer].map((socket) => new Promise((resolve) => socket.once("connect", resolve))));

// Warm up the code paths so the first heap figure is not taken before the JIT and pools settle.
await producer.emitWithAck("queue:sendBatch", { queue: "warmup", messages: [{ data: 1 }] });
const heapBefore = heapMiB();

let received = 0;
let receipts = [];
const done = new Promise((resolve) => {
  consumer.on("queue:message", (message) => {
    received += 1;
    receipts.push(message.receipt);
    if (receipts.length >= BATCH || received === MESSAGES) {
      consumer.emit("queue:ack", { queue: "million", receipts }, () => {});
      receipts = [];
    }
    if (received === MESSAGES) resolve();
  });
});
const startedAt = performance.now();
await consumer.emitWithAck("queue:consume", { queue: "million", prefetch: PREFETCH });
let sent = 0;
const message = { data: { text: "x".repeat(180) } };
const sendBatches = async () => {
  while (sent < MESSAGES) {
    const count = Math.min(BATCH, MESSAGES - sent);
    sent += count;
    const reply = await producer.emitWithAck("queue:sendBatch", {
      queue: "million",
      messages: Array.from({ length: count }, () => message),
    });
    if (!reply.ok) throw new Error(JSON.stringify(reply));
  }
};
await Promise.all(Array.from({ length: IN_FLIGHT_BATCHES }, sendBatches));
await done;
const seconds = (performance.now() - startedAt) / 1000;
const stats = await consumer.emitWithAck("queue:stats", { queue: "million" });
producer.close();
consumer.close();
await new Promise((resolve) => setTimeout(resolve, 200));
const heapAfter = heapMiB();
console.log(
  JSON.stringify({
    messages: MESSAGES,
    seconds: Number(seconds.toFixed(1)),
    messagesPerSecond: Math.round(MESSAGES / seconds),
    heapBeforeMiB: heapBefore,
    heapAfterMiB: heapAfter,
    finalStats: stats,
  }),
);
await node.close();
