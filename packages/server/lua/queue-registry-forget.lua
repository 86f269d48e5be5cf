-- Forgets queues that a listing found holding no messages and having no consumers, except those that, by
-- Redis's clock now, were sent to within the sent window or registered within the grace: a registration
-- that raced the listing (a send, a consumer, a dead letter since the listing read the queue) keeps its
-- queue. The listing's reads of the queues themselves live in other slots, so they cannot be in this script.
-- KEYS[1] names, KEYS[2] sent, KEYS[3] seen: as in queue-register.lua
-- ARGV[1] sent window (ms): a queue sent to within it stays
-- ARGV[2] grace (ms): a queue registered within it stays
-- ARGV[3...] the queue names
-- Returns how many were forgotten.
local namesKey, sentKey, seenKey = KEYS[1], KEYS[2], KEYS[3]
local sentWindowMs = tonumber(ARGV[1])
local graceMs = tonumber(ARGV[2])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local forgotten = 0
for index = 3, #ARGV do
  local name = ARGV[index]
  local sentAt = tonumber(redis.call('HGET', sentKey, name) or '0')
  local seenAt = tonumber(redis.call('HGET', seenKey, name) or '0')
  if sentAt <= now - sentWindowMs and seenAt <= now - graceMs then
    forgotten = forgotten + redis.call('ZREM', namesKey, name)
    redis.call('HDEL', sentKey, name)
    redis.call('HDEL', seenKey, name)
  end
end
return forgotten
