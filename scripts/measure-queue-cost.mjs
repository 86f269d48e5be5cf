#!/usr/bin/env node
// Sends and consumes 20,000 messages across two Mailroom nodes on a Redis of its own, and prints
// messages/s and Redis CPU per message (redis-server user+sys CPU from INFO cpu, divided by messages).
// Not a test: a measurement. Usage: node scripts/measure-queue-cost.mjs [messages] (after npm run build)
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { io } from "socket.io-client";

const MESSAGES = Number(process.argv[2] ?? 20_000);
const PREFETCH = 100;
const SEND_WINDOW = 500;
const BODY = { text: "x".repeat(180) };
const CLI = fileURLToPath(new URL("../packages/cli/bin/mailroom.js", import.meta.url));
const children = [];

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function start(command, args, readyText) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      if (output.includes(readyText)) resolve(child);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}: ${output}`)));
  });
}

async function redisCpuSeconds(redis) {
  const info = await redis.info("cpu");
  const value = (name) => Number(info.match(new RegExp(`${name}:([\\d.]+)`))[1]);
  return value("used_cpu_user") + value("used_cpu_sys");
}

function connected(url) {
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  return new Promise((resolve) => socket.once("connect", () => resolve(socket)));
}

try {
  const redisPort = await freePort();
  await start("redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no"], "Ready to accept");
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const ports = [await freePort()];
  while (ports.length < 2) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  for (const port of ports) {
    const args = [CLI, "serve", "--port", String(port), "--redis", redisUrl, "--log-level", "warn"];
    children.push(spawn(process.execPath, args, { stdio: "inherit" }));
  }
  const redis = new Redis(redisUrl);
  for (const port of ports) {
    while ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => ({ status: 0 }))).status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const producer = await connected(`http://127.0.0.1:${ports[0]}`);
  const consumer = await connected(`http://127.0.0.1:${ports[1]}`);

  let received = 0;
  const pendingAcks = [];
  const allReceived = new Promise((resolve) => {
    consumer.on("queue:message", (message) => {
      received += 1;
      pendingAcks.push(message.receipt);
      if (received === MESSAGES) resolve();
    });
  });
  const flushAcks = setInterval(() => {
    if (pendingAcks.length === 0) return;
    consumer.emit("queue:ack", { queue: "bench", receipts: pendingAcks.splice(0, 1000) }, () => {});
  }, 1);

  await redis.config("RESETSTAT");
  const cpuBefore = await redisCpuSeconds(redis);
  const startedAt = performance.now();
  await consumer.emitWithAck("queue:consume", { queue: "bench", prefetch: PREFETCH });
  let sent = 0;
  const sendOne = async () => {
    while (sent < MESSAGES) {
      sent += 1;
      const reply = await producer.emitWithAck("queue:send", { queue: "bench", data: BODY });
      if (!reply.ok) throw new Error(JSON.stringify(reply));
    }
  };
  await Promise.all(Array.from({ length: SEND_WINDOW }, sendOne));
  await allReceived;
  while (pendingAcks.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
  clearInterval(flushAcks);
  const stats = await consumer.emitWithAck("queue:stats", { queue: "bench" });
  if (process.env.COMMANDSTATS) console.error(await redis.info("commandstats"));
  console.log(
    JSON.stringify({
      messages: MESSAGES,
      seconds: Number(seconds.toFixed(2)),
      messagesPerSecond: Math.round(MESSAGES / seconds),
      redisCpuMicrosecondsPerMessage: Number(((cpu * 1e6) / MESSAGES).toFixed(2)),
      finalStats: stats,
    }),
  );
  producer.close();
  consumer.close();
  redis.disconnect();
} finally {
  for (const child of children) child.kill("SIGKILL");
}
