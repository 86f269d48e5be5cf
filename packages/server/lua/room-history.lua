-- Reads a room's place in its history and some of its publications (docs/protocol.md §10); a room with no
-- epoch gets one, so that a joining member has a position to come back with.
-- KEYS[1] meta, KEYS[2] history: as room-publish.lua
-- ARGV[1] the epoch to start when the room has none
-- ARGV[2] how long a new epoch lives with no publish (ms)
-- ARGV[3] after: the publications after this offset (-1: none); ARGV[4] tail: and the last this many;
-- ARGV[5] the history's size: never older than the newest this many (room-history.ts: firstOffsetToRead)
-- Returns { epoch, offset, then per publication oldest first: its offset, its encoded publication }
local metaKey, historyKey = KEYS[1], KEYS[2]
local newEpoch, ttlMs = ARGV[1], ARGV[2]
local after, tail, size = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local meta = redis.call('HMGET', metaKey, 'epoch', 'offset')
local epoch, last = meta[1], tonumber(meta[2])
if not epoch then
  epoch, last = newEpoch, 0
  redis.call('DEL', historyKey)
  redis.call('HSET', metaKey, 'epoch', epoch, 'offset', 0)
  redis.call('PEXPIRE', metaKey, ttlMs)
end
local result = { epoch, last }
local first = last + 1
if after >= 0 and after + 1 < first then first = after + 1 end
if tail > 0 and last - tail + 1 < first then first = last - tail + 1 end
if last - size + 1 > first then first = last - size + 1 end
if first < 1 then first = 1 end
if first <= last then
  for _, entry in ipairs(redis.call('XRANGE', historyKey, first .. '-0', '+')) do
    result[#result + 1] = string.match(entry[1], '^(%d+)-')
    result[#result + 1] = entry[2][2]
  end
end
return result
