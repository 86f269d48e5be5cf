-- Registers queues in their namespace's queue registry (queues/queue-registry.ts): adds each name, stamps
-- when it was registered and, for a send, when it was last sent to. Idempotent.
-- KEYS[1] names: sorted set, queue name -> 0 (every score 0, so the set reads in name order)
-- KEYS[2] sent: hash, queue name -> when a send last registered it (ms since the epoch, Redis time)
-- KEYS[3] seen: hash, queue name -> when it was last registered, for any reason (ms, Redis time)
-- ARGV[1] '1' when sends register them (stamps `sent` too), else '0'
-- ARGV[2...] the queue names
-- Returns how many names were new to the registry.
local namesKey, sentKey, seenKey = KEYS[1], KEYS[2], KEYS[3]
local isSend = ARGV[1] == '1'

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local added = 0
for index = 2, #ARGV do
  local name = ARGV[index]
  added = added + redis.call('ZADD', namesKey, 0, name)
  redis.call('HSET', seenKey, name, now)
  if isSend then redis.call('HSET', sentKey, name, now) end
end
return added
