-- Accepts a batch of plain messages, the common case, with less work per message than queue-send: ids the
-- server made (never duplicates, so no dedup check), no delay, no TTL, and one maxAttempts for all. Stores
-- the same entries as queue-send (see decodeMessage).
--!include queue-keys
-- ARGV[2] the queue's wake-up channel: published to when the ready list goes from empty to not
-- ARGV[3] maxAttempts of every message
-- ARGV[4..] pairs: id, body
-- Returns { wasEmpty (1 when the ready list went from empty to not), 0 (no delay), then a 0 per message
--   (none is a duplicate) }
local wakeChannel = ARGV[2]
local count = (#ARGV - 3) / 2

local now = nowMs()
local seq = redis.call('INCRBY', seqKey, count) - count
-- Everything after the sequence number is the same for the whole batch: attempt 0, maxAttempts,
-- enqueuedAt now, no expiry, no reason.
local rest = '|0|' .. ARGV[3] .. '|' .. string.format('%d', now) .. '|0||'
local messageArgs, readyIds, result = {}, {}, { 0, 0 }
for index = 4, #ARGV, 2 do
  seq = seq + 1
  local id = ARGV[index]
  messageArgs[#messageArgs + 1] = id
  messageArgs[#messageArgs + 1] = string.format('%d', seq) .. rest .. ARGV[index + 1]
  readyIds[#readyIds + 1] = id
  result[#result + 1] = 0
end
redis.call('HSET', messagesKey, unpack(messageArgs))
if redis.call('RPUSH', readyKey, unpack(readyIds)) == #readyIds then
  result[1] = 1
  redis.call('PUBLISH', wakeChannel, '1')
end
return result
