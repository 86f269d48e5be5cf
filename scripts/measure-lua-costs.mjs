#!/usr/bin/env node
// What single operations of a Lua script cost Redis, in instructions (callgrind:
// packages/bench/dist/measure/redis-instructions.js): the figures the queue scripts' comments cite when they
// avoid an operation (a tonumber, a string.format, a redis.call per message). Each operation runs N times
// in one EVAL, and the same loop without it is subtracted, so what is left is the operation alone.
// Run once before counting, so that compiling the script does not count. The result is in BENCHMARKS.md
// ("What a line of Lua costs Redis").
// Not a test: run it by hand after npm run build. Needs valgrind and redis-server on the PATH.
// Usage: node scripts/measure-lua-costs.mjs [iterations per operation, default 20000]
import { Redis } from "ioredis";
import { RedisInstructionCounter } from "../packages/bench/dist/measure/redis-instructions.js";

const ITERATIONS = Number(process.argv[2] ?? 20_000);
const LISTS = 100;
// 100 list keys of the length of a queue's group keys, each holding one item shaped as a group's ("<p><id>").
const SETUP = `
  local keys = {}
  for index = 1, ${LISTS} do keys[index] = '{mailroom:/:orders}:group:customer-' .. index end
  local item = '0f47ac10b-58cc-4372-a567-0e02b2c3d479'`;
const LOOP = (body, before = "") => `${SETUP}
  ${before}
  for i = 1, ${ITERATIONS} do
    local key = keys[i % ${LISTS} + 1]
    ${body}
  end`;

/** [what, loop body, what runs once before the loop] */
const OPERATIONS = [
  ["read a global (tonumber)", "local x = tonumber"],
  ["string.byte(s)", "local x = string.byte(item)"],
  ["string.byte(s), as a local", "local x = byte(item)", "local byte = string.byte"],
  ["string.sub(s, 2)", "local x = string.sub(item, 2)"],
  ["string.sub(s, 2), as a local", "local x = sub(item, 2)", "local sub = string.sub"],
  ["string.find(s, '/', 1, true)", "local x = string.find(key, '/', 1, true)"],
  ["string.match(s, '^(%x+)-(.*)$')", "local a, b = string.match(item, '^(%x+)-(.*)$')"],
  ["a .. b (a new string)", "local x = key .. item"],
  ["tonumber('1234')", "local x = tonumber('1234')"],
  ["string.format('%d', n)", "local x = string.format('%d', i)"],
  ["a new table", "local x = {}"],
  ["a Lua function call", "local x = identity(item)", "local function identity(value) return value end"],
  ["a loop of ipairs over one element", "for _, v in ipairs(one) do end", "local one = { 1 }"],
  ["a numeric for over one element", "for j = 1, #one do local v = one[j] end", "local one = { 1 }"],
  ["redis.call('EXISTS', key)", "redis.call('EXISTS', key)"],
  ["redis.call('LINDEX', key, '0')", "redis.call('LINDEX', key, '0')"],
  ["redis.call('RPUSH', key, item) then LPOP", "redis.call('RPUSH', key, item) redis.call('LPOP', key)"],
];

const counter = await RedisInstructionCounter.start();
const redis = new Redis(counter.server.url);
try {
  for (let index = 1; index <= LISTS; index += 1) {
    await redis.rpush(`{mailroom:/:orders}:group:customer-${index}`, "0f47ac10b-58cc-4372-a567-0e02b2c3d479");
  }
  const count = async (script) => {
    await redis.eval(script, 0);
    counter.since();
    await redis.eval(script, 0);
    return counter.since() / ITERATIONS;
  };
  const empty = await count(LOOP(""));
  console.log(
    `instructions of Redis per operation, ${ITERATIONS} in one EVAL (the empty loop, ${empty.toFixed(0)}, taken off):`,
  );
  for (const [what, body, before] of OPERATIONS) {
    const cost = (await count(LOOP(body, before))) - empty;
    console.log(`${cost.toFixed(0).padStart(7)}  ${what}`);
  }
} finally {
  redis.disconnect();
  await counter.stop();
}
