#!/usr/bin/env node
// Issue 15, item 3: what leasing a pull as a whole would save Redis, before building it. Counts the
// instructions Redis executes (callgrind: packages/bench/dist/measure/redis-instructions.js) for the lease
// bookkeeping alone, receive then ack, in two forms of the same scripts:
// - per message (Mailroom's layout): each receipt "<token>:<id>" is a member of the queue's inflight sorted
//   set, scored by its deadline; an ack checks its receipts with a probe set and ZINTERCARD, then ZREMs them
//   (queue-receive.lua, queue-ack.lua);
// - per pull (the proposal): inflight holds one member per pull (its token); a hash maps each leased id to
//   its pull's token, another counts each pull's messages still out; an ack compares the ids' tokens, deletes
//   them, and removes a pull once its count reaches 0.
// Neither form stores or reads the messages themselves, which both layouts would do alike. 2,000 other leases
// stay out throughout, as consumers with prefetch keep them. The result is in BENCHMARKS.md ("Leasing a pull
// as a whole, counted before building it").
// Not a test: run it by hand after npm run build. Needs valgrind and redis-server on the PATH.
// Usage: node scripts/measure-pull-leases.mjs [messages per pull, default 100] [messages per round, default 20000]
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisInstructionCounter } from "../packages/bench/dist/measure/redis-instructions.js";

const PULL = Number(process.argv[2] ?? 100);
const MESSAGES = Number(process.argv[3] ?? 20_000);
const OTHER_LEASES = 2000;
const LEASE_MS = 60_000;
const KEYS = ["{q}:inflight", "{q}:leases", "{q}:pulls"];

const perMessage = {
  receive: `
    local token, deadline = ARGV[1], ARGV[2]
    local args, receipts = {}, {}
    for index = 3, #ARGV do
      local receipt = token .. ':' .. ARGV[index]
      args[#args + 1] = deadline
      args[#args + 1] = receipt
      receipts[#receipts + 1] = receipt
    end
    redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    redis.call('ZADD', KEYS[1], unpack(args))
    return receipts`,
  ack: `
    local probe = KEYS[1] .. ':probe'
    redis.call('DEL', probe)
    local unique = redis.call('SADD', probe, unpack(ARGV))
    local allCurrent = redis.call('ZINTERCARD', 2, KEYS[1], probe) == unique
    redis.call('DEL', probe)
    local ids = {}
    for index = 1, #ARGV do ids[index] = string.match(ARGV[index], ':(.*)$') end
    redis.call('ZREM', KEYS[1], unpack(ARGV))
    return #ids`,
};

// The hashes get a field longer than 64 bytes, so Redis keeps them as hash tables (as queue-lanes.lua's FILLER).
const perPull = {
  receive: `
    local token, deadline = ARGV[1], ARGV[2]
    local filler = string.rep('-', 65)
    local args, receipts = { '', filler }, {}
    for index = 3, #ARGV do
      args[#args + 1] = ARGV[index]
      args[#args + 1] = token
      receipts[#receipts + 1] = token .. ':' .. ARGV[index]
    end
    redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    redis.call('HSET', KEYS[2], unpack(args))
    redis.call('ZADD', KEYS[1], deadline, token)
    redis.call('HSET', KEYS[3], token, #ARGV - 2, '', filler)
    return receipts`,
  ack: `
    local ids, tokens = {}, {}
    for index = 1, #ARGV do tokens[index], ids[index] = string.match(ARGV[index], '^([^:]*):(.*)$') end
    local current = redis.call('HMGET', KEYS[2], unpack(ids))
    local ackedByPull, pulls, acked = {}, {}, {}
    for index = 1, #ids do
      local token = tokens[index]
      if current[index] == token then
        acked[#acked + 1] = ids[index]
        if not ackedByPull[token] then
          ackedByPull[token] = 0
          pulls[#pulls + 1] = token
        end
        ackedByPull[token] = ackedByPull[token] + 1
      end
    end
    redis.call('HDEL', KEYS[2], unpack(acked))
    for _, token in ipairs(pulls) do
      if redis.call('HINCRBY', KEYS[3], token, -ackedByPull[token]) <= 0 then
        redis.call('HDEL', KEYS[3], token)
        redis.call('ZREM', KEYS[1], token)
      end
    end
    return #acked`,
};

let pulls = 0;
const nextToken = () => (pulls++).toString(16).padStart(24, "0");
const ids = (count) => Array.from({ length: count }, () => randomUUID());

/** Loads a form's scripts: they are called by SHA1, as Mailroom calls its own (scripts.ts). */
async function load(redis, form) {
  return {
    receive: await redis.script("LOAD", form.receive),
    ack: await redis.script("LOAD", form.ack),
  };
}

async function lease(redis, shas, leased) {
  return redis.evalsha(shas.receive, KEYS.length, ...KEYS, nextToken(), String(Date.now() + LEASE_MS), ...leased);
}

/** Instructions per message of the receives, then of the acks, of one round. */
async function round(redis, counter, shas) {
  const leased = ids(MESSAGES);
  counter.since();
  const receipts = [];
  for (let start = 0; start < MESSAGES; start += PULL) {
    receipts.push(await lease(redis, shas, leased.slice(start, start + PULL)));
  }
  const receive = counter.since() / MESSAGES;
  for (const pull of receipts) await redis.evalsha(shas.ack, KEYS.length, ...KEYS, ...pull);
  return { receive, ack: counter.since() / MESSAGES };
}

const counter = await RedisInstructionCounter.start();
const redis = new Redis(counter.server.url);
try {
  for (const [name, form] of [
    ["per message (today)", perMessage],
    ["per pull (proposed)", perPull],
  ]) {
    await redis.del(...KEYS);
    const shas = await load(redis, form);
    const others = ids(OTHER_LEASES);
    for (let start = 0; start < OTHER_LEASES; start += 100) await lease(redis, shas, others.slice(start, start + 100));
    await round(redis, counter, shas); // unmeasured: warms the server
    const rounds = [await round(redis, counter, shas), await round(redis, counter, shas)];
    const low = (phase) => Math.min(...rounds.map((counts) => counts[phase]));
    console.log(
      `${name.padEnd(20)} ${PULL} per pull: receive ${low("receive").toFixed(0)}  ack ${low("ack").toFixed(0)}  ` +
        `total ${(low("receive") + low("ack")).toFixed(0)} instructions of Redis per message`,
    );
  }
} finally {
  redis.disconnect();
  await counter.stop();
}
