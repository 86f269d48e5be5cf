-- Moves every ready and delayed message of "<queue>.dlq" to the tail of the queue, attempt from 1 again.
--!include queue-keys
-- Returns how many messages moved.
local ids = redis.call('LRANGE', dlqReadyKey, 0, -1)
local delayed = redis.call('ZRANGE', dlqDelayedKey, 0, -1)
for _, id in ipairs(delayed) do ids[#ids + 1] = id end
-- A message whose id the queue holds again stays in the dead-letter queue, ready.
local moved, kept = {}, {}
for _, id in ipairs(ids) do
  local text = redis.call('HGET', dlqMetaKey, id)
  local body = redis.call('HGET', dlqBodiesKey, id)
  if text and body and redis.call('HEXISTS', metaKey, id) == 1 then
    kept[#kept + 1] = id
  elseif text and body then
    redis.call('HDEL', dlqMetaKey, id)
    redis.call('HDEL', dlqBodiesKey, id)
    local meta = decodeMeta(text)
    meta.seq = redis.call('INCR', seqKey)
    meta.attempt = 0
    meta.reason = ''
    redis.call('HSET', metaKey, id, encodeMeta(meta))
    redis.call('HSET', bodiesKey, id, body)
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
