#!/usr/bin/env node
// What each queue script costs Redis per message, plain and grouped, without the bench's nodes and clients:
// the Redis engine itself (packages/server/dist, in this process) on a redis-server of its own, started and
// read as the bench does (packages/bench/dist: infra/redis-server.js, measure/redis-scripts.js). Each round
// sends MESSAGES messages of 200 bytes in batches of 170 (to 1,000 groups in turn, or to none), then
// receives 100 at a time and acks each batch; with --batch=N, N per send, receive and ack, every receive
// before the acks (--batch=1 is the shape of everyday rates: a script call per message per phase).
// Quieter than the bench (one process, no network between nodes), so it shows a change to a script that
// the bench's noise hides. Alternate the two sides of a change (the Lua is read at start from
// packages/server/lua) and compare.
// Two measures:
// - by default, Redis's slow log at 0 µs gives each script call's time; prints the lowest of the rounds per
//   script, in µs per message (BENCHMARKS.md, "Acks that free groups without reading them"). Time moves with
//   the machine by a tenth or more.
// - with --instructions, redis-server runs under valgrind's callgrind, and each phase (the sends, the
//   receives, the acks) is the count of instructions Redis executed for it, per message: the same from run
//   to run within about 1% in total and 3% per phase, whatever else the machine does, so a change of a few
//   percent shows (BENCHMARKS.md, "Grouped paths counted in instructions"). Needs valgrind (apt-get install valgrind);
//   about a minute per round of 5,000 messages, and one unmeasured round of each kind first (script loads).
// Not a test: run it by hand after npm run build (the bench's build too). Needs redis-server on the PATH.
// Usage: node scripts/measure-script-costs.mjs [--instructions] [--batch=N] [rounds, default 3] [messages
//   per round, default 30000, or 5000 with --instructions]
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { pino } from "pino";
import { RedisServer } from "../packages/bench/dist/infra/redis-server.js";
import { RedisInstructionCounter } from "../packages/bench/dist/measure/redis-instructions.js";
import { ScriptCostMeter } from "../packages/bench/dist/measure/redis-scripts.js";
import { RedisConnections } from "../packages/server/dist/engines/redis/connections.js";
import { RedisKeys } from "../packages/server/dist/engines/redis/keys.js";
import { RedisQueueEngine } from "../packages/server/dist/engines/redis/redis-queue-engine.js";
import { RedisQueueRegistry } from "../packages/server/dist/engines/redis/redis-queue-registry.js";
import { ReplicaWait } from "../packages/server/dist/engines/redis/replica-wait.js";
import { Scripts } from "../packages/server/dist/engines/redis/scripts.js";

const INSTRUCTIONS = process.argv.includes("--instructions");
const [roundsArg, messagesArg] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const ROUNDS = Number(roundsArg ?? 3);
const MESSAGES = Number(messagesArg ?? (INSTRUCTIONS ? 5000 : 30_000));
const GROUPS = 1000;
// --batch N: N messages per send, receive and ack (everyday rates send and take one at a time).
const BATCH = process.argv.find((arg) => arg.startsWith("--batch="))?.slice("--batch=".length);
const SEND_BATCH = Number(BATCH ?? 170);
const RECEIVE_MAX = Number(BATCH ?? 100);
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

/**
 * Per message of one round: µs of each script (slow log), or with `instructions` (a RedisInstructionCounter) the
 * instructions of the sends, the receives and the acks.
 */
async function round(redisServer, { engine }, groups, instructions) {
  const address = { namespace: "/", queue: `costs-${randomUUID().slice(0, 6)}` };
  const meter = instructions ? undefined : await ScriptCostMeter.begin(redisServer);
  const counted = { send: 0, receive: 0, ack: 0 };
  const count = (phase) => {
    if (instructions) counted[phase] += instructions.since();
  };
  instructions?.since(); // counts from here on
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
  count("send");
  if (BATCH !== undefined) {
    // Every receive, then every ack: a dump of the counts per call would take longer than the calls.
    const receipts = [];
    while (receipts.length < MESSAGES) {
      const { leases } = await engine.receive(address, RECEIVE_MAX, LEASE_MS);
      if (leases.length === 0) throw new Error(`nothing to receive after ${receipts.length} of ${MESSAGES}`);
      for (const lease of leases) receipts.push(lease.receipt);
    }
    count("receive");
    for (let start = 0; start < receipts.length; start += RECEIVE_MAX) {
      await engine.ack(address, receipts.slice(start, start + RECEIVE_MAX));
    }
    count("ack");
  }
  for (let received = BATCH === undefined ? 0 : MESSAGES; received < MESSAGES; ) {
    const { leases } = await engine.receive(address, RECEIVE_MAX, LEASE_MS);
    count("receive");
    if (leases.length === 0) throw new Error(`nothing to receive after ${received} of ${MESSAGES}`);
    received += leases.length;
    await engine.ack(
      address,
      leases.map((lease) => lease.receipt),
    );
    count("ack");
  }
  if (instructions) return Object.fromEntries(Object.entries(counted).map(([phase, n]) => [phase, n / MESSAGES]));
  const costs = Object.fromEntries(COSTED.map((name) => [name, 0]));
  for (const { name, usecPerMsg } of await meter.end(MESSAGES)) {
    if (name in costs) costs[name] = usecPerMsg;
  }
  return costs;
}

const instructions = INSTRUCTIONS ? await RedisInstructionCounter.start() : undefined;
const redisServer = instructions ? instructions.server : await RedisServer.start();
try {
  const store = await startEngine(redisServer.url);
  if (instructions) {
    await round(redisServer, store, 0, instructions);
    await round(redisServer, store, GROUPS, instructions);
  }
  const lows = { plain: {}, grouped: {} };
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const [kind, groups] of [
      ["plain", 0],
      ["grouped", GROUPS],
    ]) {
      const costs = await round(redisServer, store, groups, instructions);
      for (const [name, cost] of Object.entries({ ...costs, total: Object.values(costs).reduce((a, b) => a + b) })) {
        lows[kind][name] = Math.min(lows[kind][name] ?? Number.POSITIVE_INFINITY, cost);
      }
    }
  }
  const unit = instructions ? "instructions of Redis per message (callgrind)" : "µs of Redis per message (slow log)";
  console.log(`lowest of ${ROUNDS} rounds of ${MESSAGES} messages, ${unit}:`);
  for (const [kind, costs] of Object.entries(lows)) {
    const figures = Object.entries(costs).map(([name, cost]) => `${name} ${cost.toFixed(instructions ? 0 : 2)}`);
    console.log(`${kind.padEnd(8)} ${figures.join("  ")}`);
  }
  console.log(`grouped ÷ plain: ${(lows.grouped.total / lows.plain.total).toFixed(instructions ? 3 : 2)}`);
  await store.engine.close();
  await store.connections.close();
} finally {
  await (instructions ?? redisServer).stop();
}
