-- Acknowledges deliveries: each message whose current lease matches its receipt is deleted.
--!include queue-keys
-- ARGV[2..] receipts
-- Returns { how many were acked, then the 1-based positions of the stale receipts }
local result = { 0 }
local candidates, positions = {}, {}
for index = 2, #ARGV do
  local id = receiptId(ARGV[index])
  if id then
    candidates[#candidates + 1] = id
    positions[#positions + 1] = index
  else
    result[#result + 1] = index - 1
  end
end
local ids = {}
if #candidates > 0 then
  local current = redis.call('HMGET', leasesKey, unpack(candidates))
  for slot, id in ipairs(candidates) do
    local index = positions[slot]
    if current[slot] == ARGV[index] and not ids[id] then
      ids[#ids + 1] = id
      ids[id] = true
    else
      result[#result + 1] = index - 1
    end
  end
end
if #ids > 0 then
  redis.call('HDEL', leasesKey, unpack(ids))
  redis.call('ZREM', inflightKey, unpack(ids))
  redis.call('HDEL', metaKey, unpack(ids))
  redis.call('HDEL', bodiesKey, unpack(ids))
end
result[1] = #ids
return result
