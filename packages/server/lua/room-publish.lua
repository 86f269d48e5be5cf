-- Publishes to a room with history (docs/protocol.md §10): gives the publication the room's next offset,
-- appends it to the room's capped history, and publishes it on the room's channel, in one step.
-- KEYS[1] meta: hash, epoch -> the room's epoch, offset -> its last offset
-- KEYS[2] history: stream, one entry per publication, id "<offset>-0", field "p" -> the encoded publication
-- ARGV[1] PUBLISH, or SPUBLISH on a Redis Cluster (the channel shares the room's hash tag)
-- ARGV[2] the room's channel; the message is "<offset>|<epoch>|" then the encoded publication
-- ARGV[3] the epoch to start when the room has none (its history was lost, or it never had one)
-- ARGV[4] how many publications the history keeps (trimmed approximately, never below this)
-- ARGV[5] how long the history lives after this publish (ms)
-- ARGV[6] the encoded publication
-- Returns { epoch, offset }
local metaKey, historyKey = KEYS[1], KEYS[2]
local publishCommand, channel, newEpoch = ARGV[1], ARGV[2], ARGV[3]
local size, ttlMs, body = tonumber(ARGV[4]), ARGV[5], ARGV[6]

local epoch = redis.call('HGET', metaKey, 'epoch')
if not epoch then
  -- A new epoch: whatever is left of an old history would hold ids above the new offsets.
  epoch = newEpoch
  redis.call('DEL', historyKey)
  redis.call('HSET', metaKey, 'epoch', epoch, 'offset', 0)
end
local offset = redis.call('HINCRBY', metaKey, 'offset', 1)
redis.call('XADD', historyKey, 'MAXLEN', '~', size, offset .. '-0', 'p', body)
redis.call('PEXPIRE', historyKey, ttlMs)
redis.call('PEXPIRE', metaKey, ttlMs)
redis.call(publishCommand, channel, offset .. '|' .. epoch .. '|' .. body)
return { epoch, offset }
