-- Drops a queue's ready and delayed messages; messages in flight stay leased.
--!include queue-keys
-- Returns how many messages were dropped.
local ids = redis.call('LRANGE', readyKey, 0, -1)
local delayed = redis.call('ZRANGE', delayedKey, 0, -1)
for _, id in ipairs(delayed) do ids[#ids + 1] = id end
for start = 1, #ids, 1000 do
  local chunk = { unpack(ids, start, math.min(start + 999, #ids)) }
  redis.call('HDEL', messagesKey, unpack(chunk))
end
redis.call('DEL', readyKey, delayedKey)
return #ids
