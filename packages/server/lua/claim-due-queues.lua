-- Claims the queues whose next lease deadline or delay is due, so one node sweeps each at a time.
-- KEYS[1] due: sorted set, "<namespace>\n<queue>" -> when that queue next has timed work (ms, Redis time)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped by every mark-due-queue.lua
-- ARGV[1] at most this many queues
-- ARGV[2] claim (ms): a claimed queue is pushed this far into the future, in case its sweeper dies
-- Returns { queue, its generation at the claim, queue, generation, ... }
local dueKey = KEYS[1]
local generationsKey = KEYS[2]
local limit = tonumber(ARGV[1])
local claimMs = tonumber(ARGV[2])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local queues = redis.call('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, limit)
local result = {}
for _, queue in ipairs(queues) do
  redis.call('ZADD', dueKey, now + claimMs, queue)
  result[#result + 1] = queue
  result[#result + 1] = redis.call('HGET', generationsKey, queue) or '0'
end
return result
