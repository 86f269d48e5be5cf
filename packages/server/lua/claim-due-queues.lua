-- Claims the queues of one partition of the due-time index (keys.ts) whose next lease deadline or delay is
-- due, so one node sweeps each at a time, taking
-- turns across namespaces: every namespace with due work gets a share of the claim (at least one queue),
-- so no number of due queues in one namespace holds back another's (docs/protocol.md §15).
-- KEYS[1] namespaces: sorted set, namespace -> the earliest due time of its queues (ms, Redis time)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped by every mark-due-queue.lua
-- KEYS[3] (layout 1's index only) the one-level index of the first release: sorted set,
--   "<namespace>\n<queue>" -> due (ms); its entries move into the two levels here, a few per call, until it
--   is gone (nodes of both versions may run side by side during a rolling upgrade)
-- ARGV[1] at most this many queues
-- ARGV[2] claim (ms): a claimed queue is pushed this far into the future, in case its sweeper dies
-- ARGV[3] the prefix of a namespace's queue index: the key is ARGV[3] .. namespace (in the slot of
--   KEYS[1], through its hash tag; scripts.ts builds the same names through keys.ts)
-- Returns { in how many ms the index next has due work (-1: none), queue, its generation at the claim,
--   queue, generation, ... }
--!include due-index
local namespacesKey, generationsKey, legacyKey = KEYS[1], KEYS[2], KEYS[3]
local limit = tonumber(ARGV[1])
local claimMs = tonumber(ARGV[2])
local queuesKeyPrefix = ARGV[3]
-- Entries of the first version's index moved per call.
local LEGACY_MOVES = 100

local function namespaceOf(queue)
  return string.sub(queue, 1, string.find(queue, '\n', 1, true) - 1)
end

local legacy = legacyKey and redis.call('ZRANGE', legacyKey, 0, LEGACY_MOVES - 1, 'WITHSCORES') or {}
for index = 1, #legacy, 2 do
  local queue, due = legacy[index], legacy[index + 1]
  local namespace = namespaceOf(queue)
  redis.call('ZADD', queuesKeyPrefix .. namespace, 'LT', due, queue)
  redis.call('ZADD', namespacesKey, 'LT', due, namespace)
  redis.call('ZREM', legacyKey, queue)
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local namespaces = redis.call('ZRANGEBYSCORE', namespacesKey, '-inf', now, 'LIMIT', 0, limit)
local result = { -1 }
local function nextDueIn()
  local first = redis.call('ZRANGE', namespacesKey, 0, 0, 'WITHSCORES')
  if first[2] then result[1] = math.max(0, tonumber(first[2]) - now) end
  return result
end
if #namespaces == 0 then return nextDueIn() end
local share = math.max(1, math.floor(limit / #namespaces))
for _, namespace in ipairs(namespaces) do
  local queuesKey = queuesKeyPrefix .. namespace
  local queues = redis.call('ZRANGEBYSCORE', queuesKey, '-inf', now, 'LIMIT', 0, share)
  for _, queue in ipairs(queues) do
    redis.call('ZADD', queuesKey, now + claimMs, queue)
    result[#result + 1] = queue
    result[#result + 1] = redis.call('HGET', generationsKey, queue) or '0'
  end
  resetNamespaceDue(namespacesKey, queuesKey, namespace)
end
return nextDueIn()
