-- Reads messages of a queue without leasing or changing anything (docs/protocol.md §12: a peek).
--!include queue-keys
--!include queue-lanes
-- ARGV[2] which: 'ready' (oldest accepted first, whatever lane or group holds them), 'delayed' (the
--   soonest due first) or 'inflight' (the soonest lease deadline first)
-- ARGV[3] at most this many
-- Returns per message: its id, then its stored entry as it is
local which, limit = ARGV[2], tonumber(ARGV[3])
local ids = {}
if which == 'ready' then
  -- The oldest of each list are the candidates; the oldest of them all are the answer.
  for _, id in ipairs(redis.call('LRANGE', readyKey, 0, limit - 1)) do ids[#ids + 1] = id end
  for priority = 1, 9 do
    for _, id in ipairs(redis.call('LRANGE', lanes().laneKey(priority), 0, limit - 1)) do ids[#ids + 1] = id end
  end
  for _, group in ipairs(lanes().groupNames()) do
    for _, item in ipairs(redis.call('LRANGE', lanes().groupKey(group), 0, limit - 1)) do
      ids[#ids + 1] = string.sub(item, 2)
    end
  end
elseif which == 'delayed' then
  ids = redis.call('ZRANGE', delayedKey, 0, limit - 1)
else
  for _, receipt in ipairs(redis.call('ZRANGE', inflightKey, 0, limit - 1)) do ids[#ids + 1] = receiptId(receipt) end
end
if #ids == 0 then return {} end
local texts = redis.call('HMGET', messagesKey, unpack(ids))
local found = {}
for index, id in ipairs(ids) do
  local text = texts[index]
  if text then found[#found + 1] = { id, text, messageSeq(text) } end
end
if which == 'ready' then table.sort(found, function(a, b) return a[3] < b[3] end) end
local result = {}
for index = 1, math.min(limit, #found) do
  result[#result + 1] = found[index][1]
  result[#result + 1] = found[index][2]
end
return result
