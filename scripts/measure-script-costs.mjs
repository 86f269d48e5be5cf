#!/usr/bin/env node
// What each queue script costs Redis per message, plain and grouped, without the bench's nodes and clients:
// the Redis engine itself (packages/server/dist, in this process) on a redis-server of its own on a free
// port (no persistence). Each round sends MESSAGES messages of 200 bytes in batches of 170 (to 1,000 groups
// in turn, or to none), then receives 100 at a time and acks each batch; Redis's slow log at 0 µs gives
// each script call's time. Prints the lowest of the rounds per script, in µs per message. Quieter than the
// bench (one process, no network between nodes), so it shows a change to a script that the bench's noise
// hides; BENCHMARKS.md, "Acks that free groups without reading them", used it. Alternate the two sides of
// a change (the Lua is read at start from packages/server/lua) and compare the lows.
// Not a test: run it by hand after npm run build. Needs redis-server on the PATH.
// Usage: node scripts/measure-script-costs.mjs [rounds, default 3] [messages per round, default 30000]
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { RedisConnections } from "../packages/server/dist/engines/redis/connections.js";
import { RedisKeys } from "../packages/server/dist/engines/redis/keys.js";
import { RedisQueueEngine } from "../packages/server/dist/engines/redis/redis-queue-engine.js";
import { RedisQueueRegistry } from "../packages/server/dist/engines/redis/redis-queue-registry.js";
import { ReplicaWait } from "../packages/server/dist/engines/redis/replica-wait.js";
import { Scripts } from "../packages/server/dist/engines/redis/scripts.js";

const ROUNDS = Number(process.argv[2] ?? 3);
const MESSAGES = Number(process.argv[3] ?? 30_000);
const GROUPS = 1000;
const SEND_BATCH = 170;
const RECEIVE_MAX = 100;
const LEASE_MS = 60_000;
const BODY = Buffer.alloc(200, 120);
const LUA = new URL("../packages/server/lua/", import.meta.url);
const COSTED = ["queue-send", "queue-receive", "queue-ack"];

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Each script's SHA1 as the server loads it (includes expanded, with or without its `#!lua` line). */
function scriptNames() {
  const names = new Map();
  for (const file of readdirSync(LUA).filter((name) => name.endsWith(".lua"))) {
    const source = readFileSync(new URL(file, LUA), "utf8").replace(/^--!include ([a-z-]+)$/gm, (_line, include) =>
      readFileSync(new URL(`include/${include}.lua`, LUA), "utf8"),
    );
    for (const shebang of ["", "#!lua\n", "#!lua flags=allow-oom\n"]) {
      names.set(
        createHash("sha1")
          .update(shebang + source)
          .digest("hex"),
        file.replace(/\.lua$/, ""),
      );
    }
  }
  return names;
}

async function startEngine(url) {
  const logger = pino({ level: "silent" });
  const connections = new RedisConnections({ mode: "standalone", url, commandTimeoutMs: 5000, logger });
  const keys = new RedisKeys(`costs-${randomUUID().slice(0, 8)}`, false);
  const scripts = new Scripts(connections.command, keys);
  const engine = new RedisQueueEngine({
    nodeId: "costs",
    connections,
    scripts,
    keys,
    dedupWindowMs: 1000,
    logger,
    queueRegistry: new RedisQueueRegistry(scripts, connections.command, keys),
    replicaWait: new ReplicaWait(connections.command, 0, 5000),
    legacyDueIndex: () => false,
  });
  const ready = Promise.all([once(connections.command, "ready"), once(connections.subscriber, "ready")]);
  connections.connect();
  await ready;
  await engine.start();
  return { engine, connections };
}

/** One round on a fresh queue: µs per message of each script, from the slow log. */
async function round({ engine, connections }, names, groups) {
  const redis = connections.command;
  const address = { namespace: "/", queue: `costs-${randomUUID().slice(0, 6)}` };
  await redis.config("SET", "slowlog-max-len", "100000");
  await redis.config("SET", "slowlog-log-slower-than", "0");
  await redis.slowlog("RESET");
  for (let start = 0; start < MESSAGES; start += SEND_BATCH) {
    const batch = [];
    for (let n = start; n < Math.min(MESSAGES, start + SEND_BATCH); n += 1) {
      const group = groups > 0 ? { group: `order-${n % groups}` } : {};
      batch.push({
        id: randomUUID(),
        chosenByProducer: false,
        body: BODY,
        delayMs: 0,
        ttlMs: 0,
        maxAttempts: 5,
        ...group,
      });
    }
    await engine.send(address, batch);
  }
  for (let received = 0; received < MESSAGES; ) {
    const { leases } = await engine.receive(address, RECEIVE_MAX, LEASE_MS);
    if (leases.length === 0) throw new Error(`nothing to receive after ${received} of ${MESSAGES}`);
    received += leases.length;
    await engine.ack(
      address,
      leases.map((lease) => lease.receipt),
    );
  }
  await redis.config("SET", "slowlog-log-slower-than", "10000");
  const costs = Object.fromEntries(COSTED.map((name) => [name, 0]));
  for (const [, , usec, args] of await redis.slowlog("GET", "-1")) {
    const name = String(args[0]).toLowerCase() === "evalsha" ? names.get(String(args[1])) : undefined;
    if (name in costs) costs[name] += usec / MESSAGES;
  }
  return costs;
}

const children = [];
try {
  const port = await freePort();
  const redisServer = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  children.push(redisServer);
  await sleep(300);
  const store = await startEngine(`redis://127.0.0.1:${port}`);
  const names = scriptNames();
  const lows = { plain: {}, grouped: {} };
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const [kind, groups] of [
      ["plain", 0],
      ["grouped", GROUPS],
    ]) {
      const costs = await round(store, names, groups);
      for (const [name, cost] of Object.entries({ ...costs, total: Object.values(costs).reduce((a, b) => a + b) })) {
        lows[kind][name] = Math.min(lows[kind][name] ?? Number.POSITIVE_INFINITY, cost);
      }
    }
  }
  console.log(`lowest of ${ROUNDS} rounds of ${MESSAGES} messages, µs of Redis per message (slow log):`);
  for (const [kind, costs] of Object.entries(lows)) {
    const figures = Object.entries(costs).map(([name, cost]) => `${name} ${cost.toFixed(2)}`);
    console.log(`${kind.padEnd(8)} ${figures.join("  ")}`);
  }
  console.log(`grouped ÷ plain: ${(lows.grouped.total / lows.plain.total).toFixed(2)}`);
  await store.engine.close();
  await store.connections.close();
} finally {
  for (const child of children) child.kill("SIGKILL");
}
