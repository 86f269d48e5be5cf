#!/usr/bin/env node
/**
 * What the dashboard's snapshot costs on a busy node (issue 18): one node on a private redis-server, 1,000
 * queues holding a message each, 10,000 idle Socket.IO connections (from a child process), then
 * `GET /v1/dashboard` asked a number of times, each after the node's one-second cache ran out. Prints the
 * snapshot's build time (p50, p90, max), its size, the node's event-loop delay while it builds, and a
 * `/healthz` answered during a build (responsiveness). Run after `npm run build`:
 *   node scripts/measure-dashboard.mjs [--queues 1000] [--sockets 10000] [--samples 20]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    queues: { type: "string", default: "1000" },
    sockets: { type: "string", default: "10000" },
    samples: { type: "string", default: "20" },
  },
});
const QUEUES = Number(values.queues);
const SOCKETS = Number(values.sockets);
const SAMPLES = Number(values.samples);
const CLI = new URL("../packages/cli/bin/mailroom.js", import.meta.url).pathname;

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const children = [];
const stopAll = () => {
  for (const child of children) child.kill("SIGKILL");
};
process.on("exit", stopAll);

async function waitUntil(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await pause(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const redisPort = await freePort();
children.push(spawn("redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no"]));
const nodePort = await freePort();
const node = spawn(
  process.execPath,
  [CLI, "serve", "--port", String(nodePort), "--redis", `redis://127.0.0.1:${redisPort}`],
  { stdio: "ignore", env: { ...process.env, LOG_LEVEL: "warn" } },
);
children.push(node);
const url = `http://127.0.0.1:${nodePort}`;
await waitUntil(async () => (await fetch(`${url}/readyz`)).ok, "the node to be ready");

// 1,000 queues over 10 namespaces, one message each.
for (let index = 0; index < QUEUES; index += 1) {
  const namespace = `ns${index % 10}`;
  await fetch(`${url}/v1/namespaces/${namespace}/queues/q-${index}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: index }),
  });
}

// 10,000 idle sockets from a child process (socket.io-client), each in a room of ten.
const holder = spawn(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    `import { io } from "socket.io-client";
     const sockets = [];
     for (let start = 0; start < ${SOCKETS}; start += 500) {
       await Promise.all(Array.from({ length: Math.min(500, ${SOCKETS} - start) }, async (_, offset) => {
         const socket = io("${url}", { transports: ["websocket"], forceNew: true, reconnection: false });
         await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
         await socket.emitWithAck("room:join", { room: "room-" + ((start + offset) % 1000) });
         sockets.push(socket);
       }));
     }
     console.log("connected " + sockets.length);
     setInterval(() => {}, 1 << 30);`,
  ],
  { cwd: new URL("..", import.meta.url).pathname, stdio: ["ignore", "pipe", "inherit"] },
);
children.push(holder);
const [line] = await once(holder.stdout, "data");
process.stderr.write(`${line}`);

const durations = [];
const sizes = [];
const lags = [];
const healthDuringBuild = [];
for (let sample = 0; sample < SAMPLES; sample += 1) {
  await pause(1100); // past the node's one-second snapshot cache
  const started = performance.now();
  const snapshotRequest = fetch(`${url}/v1/dashboard`);
  const healthStarted = performance.now();
  const health = fetch(`${url}/healthz`).then(() => performance.now() - healthStarted);
  const response = await snapshotRequest;
  const text = await response.text();
  durations.push(performance.now() - started);
  healthDuringBuild.push(await health);
  sizes.push(Buffer.byteLength(text));
  lags.push(JSON.parse(text).eventLoopLagMs);
  if (sample === 0) {
    const snapshot = JSON.parse(text);
    process.stderr.write(
      `snapshot: ${snapshot.queues.length} queues, ${snapshot.rooms.length} rooms, ${snapshot.namespaces.length} namespaces, ` +
        `sockets ${snapshot.namespaces.reduce((sum, namespace) => sum + namespace.sockets, 0)}\n`,
    );
  }
}
const sorted = (list) => [...list].sort((a, b) => a - b);
const pick = (list, fraction) => sorted(list)[Math.min(list.length - 1, Math.floor(fraction * list.length))];
const round = (value) => Math.round(value * 10) / 10;
console.log(
  JSON.stringify({
    queues: QUEUES,
    sockets: SOCKETS,
    samples: SAMPLES,
    snapshotMs: {
      p50: round(pick(durations, 0.5)),
      p90: round(pick(durations, 0.9)),
      max: round(Math.max(...durations)),
    },
    snapshotBytes: { p50: pick(sizes, 0.5), max: Math.max(...sizes) },
    healthzDuringBuildMs: { p50: round(pick(healthDuringBuild, 0.5)), max: round(Math.max(...healthDuringBuild)) },
    eventLoopLagMs: { p50: pick(lags, 0.5), max: Math.max(...lags) },
  }),
);
stopAll();
process.exit(0);
