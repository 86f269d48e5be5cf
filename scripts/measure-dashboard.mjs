#!/usr/bin/env node
/**
 * What the dashboard's snapshot costs on a busy node (issue 18): one node on a private redis-server, 1,000
 * queues holding a message each, 10,000 idle Socket.IO connections (from a child process), then
 * `GET /v1/dashboard` asked a number of times, each after the node's one-second cache ran out. Prints the
 * snapshot's build time (p50, p90, max), its size, the node's event-loop delay while it builds, and a
 * `/healthz` answered during a build (responsiveness).
 * Then the dashboard's rate samples with those queues (`GET /v1/dashboard/history`): the size of a sample when
 * nothing moved, then `--history-samples` samples in which every queue had traffic (one message more each:
 * the worst case, each sample listing every queue), their Redis memory (`MEMORY USAGE` of the list and of the
 * totals hash), the route's answer (bytes, gzipped bytes, time), and the sampling scripts' time on the node
 * (its `mailroom_redis_command_duration_seconds`). The node samples every `--sample-ms` (3 s here, so it takes
 * minutes; a sample's size does not depend on the interval). Run after `npm run build`:
 *   node scripts/measure-dashboard.mjs [--queues 1000] [--sockets 10000] [--samples 20] [--history-samples 90] [--sample-ms 3000]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";

const { values } = parseArgs({
  options: {
    queues: { type: "string", default: "1000" },
    sockets: { type: "string", default: "10000" },
    samples: { type: "string", default: "20" },
    "history-samples": { type: "string", default: "90" },
    "sample-ms": { type: "string", default: "3000" },
  },
});
const QUEUES = Number(values.queues);
const SOCKETS = Number(values.sockets);
const SAMPLES = Number(values.samples);
const HISTORY_SAMPLES = Number(values["history-samples"]);
const SAMPLE_MS = Number(values["sample-ms"]);
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
  [
    CLI,
    "serve",
    "--port",
    String(nodePort),
    "--redis",
    `redis://127.0.0.1:${redisPort}`,
    "--dashboard-sample-ms",
    String(SAMPLE_MS),
  ],
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
// The rate samples: keys as engines/redis/keys.ts names them under the default prefix.
const redis = new Redis(redisPort, { lazyConnect: false });
const SAMPLES_KEY = "mailroom:{cluster}:rate-samples";
const TOTALS_KEY = "mailroom:{cluster}:rate-sample-totals";
const newestSample = async () => (await redis.lindex(SAMPLES_KEY, -1)) ?? "";
async function nextSample() {
  const before = await newestSample();
  await waitUntil(async () => (await newestSample()) !== before, "the next rate sample", SAMPLE_MS * 5);
  return newestSample();
}
/** One message to every queue, 50 requests at a time. */
async function oneMoreEach() {
  let next = 0;
  const worker = async () => {
    while (next < QUEUES) {
      const index = next++;
      await fetch(`${url}/v1/namespaces/ns${index % 10}/queues/q-${index}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: index }),
      });
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
}
await nextSample();
const idleSample = await nextSample();
const busySampleBytes = [];
let roundsLate = 0;
for (let round = 0; round < HISTORY_SAMPLES; round += 1) {
  // Sent right after a sample, so the next one holds the whole round.
  const started = performance.now();
  await oneMoreEach();
  if (performance.now() - started > SAMPLE_MS / 2) roundsLate += 1;
  busySampleBytes.push(Buffer.byteLength(await nextSample()));
  if (round % 10 === 9) process.stderr.write(`rate samples: ${round + 1} of ${HISTORY_SAMPLES} with traffic\n`);
}
const newest = await newestSample();
const listedInNewest = newest.split("\n").length - 1;
const samplesListBytes = await redis.call("MEMORY", "USAGE", SAMPLES_KEY, "SAMPLES", "0");
const totalsHashBytes = await redis.call("MEMORY", "USAGE", TOTALS_KEY, "SAMPLES", "0");
const samplesKept = await redis.llen(SAMPLES_KEY);
await pause(1100); // past the route's one-second cache
const historyStarted = performance.now();
const historyResponse = await fetch(`${url}/v1/dashboard/history`);
const historyText = await historyResponse.text();
const historyMs = performance.now() - historyStarted;
const scriptTimes = {};
for (const line of (await (await fetch(`${url}/metrics`)).text()).split("\n")) {
  const match =
    /^mailroom_redis_command_duration_seconds_(sum|count)\{[^}]*command="(rateSample\w+)"[^}]*\} ([\d.e+-]+)$/.exec(
      line,
    );
  if (match) {
    scriptTimes[match[2]] ??= {};
    scriptTimes[match[2]][match[1]] = Number(match[3]);
  }
}
redis.disconnect();

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
    rateSamples: {
      sampleMs: SAMPLE_MS,
      idleSampleBytes: Buffer.byteLength(idleSample),
      busySampleBytes: { p50: pick(busySampleBytes, 0.5), max: Math.max(...busySampleBytes) },
      queuesListedInNewest: listedInNewest,
      roundsSentTooSlowly: roundsLate,
      samplesKept,
      redisMemoryBytes: { samplesList: samplesListBytes, totalsHash: totalsHashBytes },
      historyRoute: {
        bytes: Buffer.byteLength(historyText),
        gzipBytes: gzipSync(historyText).length,
        sentGzipped: historyResponse.headers.get("content-encoding") === "gzip",
        ms: round(historyMs),
        samples: JSON.parse(historyText).samples.length,
      },
      scriptMeanMs: Object.fromEntries(
        Object.entries(scriptTimes).map(([script, { sum, count }]) => [script, round((sum / count) * 1000)]),
      ),
    },
  }),
);
stopAll();
process.exit(0);
