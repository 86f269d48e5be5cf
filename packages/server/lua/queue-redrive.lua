-- Moves every ready and delayed message of "<queue>.dlq" to the tail of the queue, attempt from 1 again.
--!include queue-keys
-- Returns how many messages moved.
local ids = redis.call('LRANGE', dlqReadyKey, 0, -1)
local delayed = redis.call('ZRANGE', dlqDelayedKey, 0, -1)
for _, id in ipairs(delayed) do ids[#ids + 1] = id end
-- A message whose id the queue holds again stays in the dead-letter queue, ready.
local moved, kept = {}, {}
for _, id in ipairs(ids) do
  local text = redis.call('HGET', dlqMessagesKey, id)
  if text and redis.call('HEXISTS', messagesKey, id) == 1 then
    kept[#kept + 1] = id
  elseif text then
    redis.call('HDEL', dlqMessagesKey, id)
    local meta, body = decodeMessage(text)
    meta.seq = redis.call('INCR', seqKey)
    meta.attempt = 0
    meta.reason = ''
    redis.call('HSET', messagesKey, id, encodeMessage(meta, body))
    moved[#moved + 1] = id
  end
end
redis.call('DEL', dlqReadyKey, dlqDelayedKey)
for start = 1, #kept, 1000 do
  redis.call('RPUSH', dlqReadyKey, unpack(kept, start, math.min(start + 999, #kept)))
end
for start = 1, #moved, 1000 do
  redis.call('RPUSH', readyKey, unpack(moved, start, math.min(start + 999, #moved)))
end
return #moved
