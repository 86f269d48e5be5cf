#!/usr/bin/env node
// What each queue script costs Redis per message, plain and grouped, without the bench's nodes and clients:
// the Redis engine itself (packages/server/dist, in this process) on a redis-server of its own, started and
// read as the bench does (packages/bench/dist: infra/redis-server.js, measure/redis-scripts.js). Each round
// sends MESSAGES messages of 200 bytes in batches of 170 (to 1,000 groups in turn, or to none), then
// receives 100 at a time and acks each batch; Redis's slow log at 0 µs gives each script call's time.
// Prints the lowest of the rounds per script, in µs per message. Quieter than the bench (one process, no
// network between nodes), so it shows a change to a script that the bench's noise hides; BENCHMARKS.md,
// "Acks that free groups without reading them", used it. Alternate the two sides of a change (the Lua is
// read at start from packages/server/lua) and compare the lows.
// Not a test: run it by hand after npm run build (the bench's build too). Needs redis-server on the PATH.
// Usage: node scripts/measure-script-costs.mjs [rounds, default 3] [messages per round, default 30000]
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { pino } from "pino";
import { RedisServer } from "../packages/bench/dist/infra/redis-server.js";
import { ScriptCostMeter } from "../packages/bench/dist/measure/redis-scripts.js";
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
const COSTED = ["queue-send", "queue-receive", "queue-ack"];

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

/** One round on a fresh queue: µs per message of each script (the bench's slow-log meter). */
async function round(redisServer, { engine }, groups) {
  const address = { namespace: "/", queue: `costs-${randomUUID().slice(0, 6)}` };
  const meter = await ScriptCostMeter.begin(redisServer);
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
  const costs = Object.fromEntries(COSTED.map((name) => [name, 0]));
  for (const { name, usecPerMsg } of await meter.end(MESSAGES)) {
    if (name in costs) costs[name] = usecPerMsg;
  }
  return costs;
}

const redisServer = await RedisServer.start();
try {
  const store = await startEngine(redisServer.url);
  const lows = { plain: {}, grouped: {} };
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const [kind, groups] of [
      ["plain", 0],
      ["grouped", GROUPS],
    ]) {
      const costs = await round(redisServer, store, groups);
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
  await redisServer.stop();
}
