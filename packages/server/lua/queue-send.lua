-- Accepts a batch of messages into a queue: deduplicates, stores, and makes each ready or delayed.
--!include queue-keys
-- ARGV[2] dedup window (ms): a producer id accepted within it is a duplicate
-- ARGV[3] how to publish the wake-up: PUBLISH, or SPUBLISH on a Redis Cluster (the channel shares the queue's
--   hash tag there, so the script stays in one slot)
-- ARGV[4] the queue's wake-up channel: published to here when the ready list goes from empty to not, so the
--   nodes consuming the queue pull at once (one round trip less than a PUBLISH of the node's own)
-- ARGV[5] how many messages follow; then six ARGV per message:
--   id, '1' when the producer chose the id (deduplicated) else '0', delay (ms), ttl (ms, 0 = none),
--   maxAttempts, body
-- Returns { wasEmpty (1 when the ready list went from empty to not), earliest new delay due (ms, 0 = none),
--   then one flag per message: 1 = duplicate, 0 = stored }
local dedupWindowMs = tonumber(ARGV[2])
local publishCommand, wakeChannel = ARGV[3], ARGV[4]
local count = tonumber(ARGV[5])

local now = nowMs()
redis.call('ZREMRANGEBYSCORE', dedupKey, '-inf', '(' .. string.format('%d', now - dedupWindowMs))

local result = { 0, 0 }
local messageArgs, readyIds = {}, {}
local accepted = {}
-- Reserve the batch's sequence numbers at once; a duplicate leaves a harmless gap.
local seq = redis.call('INCRBY', seqKey, count) - count
for index = 0, count - 1 do
  local base = 6 + index * 6
  local id, chosen = ARGV[base], ARGV[base + 1] == '1'
  local delayMs, ttlMs = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local maxAttempts, body = tonumber(ARGV[base + 4]), ARGV[base + 5]
  -- An id the server made is unique: only a producer's own id can be a duplicate.
  local duplicate = accepted[id] or (chosen and (redis.call('HEXISTS', messagesKey, id) == 1
    or redis.call('ZSCORE', dedupKey, id) ~= false))
  if duplicate then
    result[#result + 1] = 1
  else
    accepted[id] = true
    result[#result + 1] = 0
    seq = seq + 1
    local expiresAt = ttlMs > 0 and now + ttlMs or 0
    -- encodeMessage's layout, for a first attempt with no reason.
    messageArgs[#messageArgs + 1] = id
    messageArgs[#messageArgs + 1] = string.format('%d|0|%d|%d|%d||', seq, maxAttempts, now, expiresAt) .. body
    if chosen then redis.call('ZADD', dedupKey, 'NX', now, id) end
    if delayMs > 0 then
      local due = now + delayMs
      redis.call('ZADD', delayedKey, due, id)
      if result[2] == 0 or due < result[2] then result[2] = due end
    else
      readyIds[#readyIds + 1] = id
    end
  end
end

if #messageArgs > 0 then redis.call('HSET', messagesKey, unpack(messageArgs)) end
if #readyIds > 0 then
  if redis.call('RPUSH', readyKey, unpack(readyIds)) == #readyIds then
    result[1] = 1
    redis.call(publishCommand, wakeChannel, '1')
  end
end
return result
