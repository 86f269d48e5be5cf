-- Moves every ready and delayed message of "<queue>.dlq" to the tail of the queue, attempt from 1 again;
-- a message with a group or a priority joins the tail of its group or of its priority's lane.
--!include queue-keys
--!include queue-lanes
-- A message whose id the queue holds again stays in the dead-letter queue as it was: a ready one ready
-- (in its order), a delayed one delayed until its due time, to be redriven once the queue's one is gone.
-- Returns how many messages moved.
local readyIds = redis.call('LRANGE', dlqReadyKey, 0, -1)
local delayedIds = redis.call('ZRANGE', dlqDelayedKey, 0, -1)

-- Moves one message to the queue; returns 'moved', 'kept' (the queue holds its id) or 'gone' (no entry).
local function redrive(id)
  local text = redis.call('HGET', dlqMessagesKey, id)
  if not text then return 'gone' end
  if redis.call('HEXISTS', messagesKey, id) == 1 then return 'kept' end
  redis.call('HDEL', dlqMessagesKey, id)
  local meta, body = decodeMessage(text)
  meta.seq = redis.call('INCR', seqKey)
  meta.attempt = 0
  meta.reason = ''
  redis.call('HSET', messagesKey, id, encodeMessage(meta, body))
  return 'moved', meta.group, meta.priority
end

local moved, keptReady, leavingDelayed = {}, {}, {}
local movedCount = 0
-- A moved message joins its place: plain ones in bulk, below.
local function place(id, group, priority)
  movedCount = movedCount + 1
  if group or priority > 0 then
    lanes().addReady(id, group, priority, false)
  else
    moved[#moved + 1] = id
  end
end
for _, id in ipairs(readyIds) do
  local outcome, group, priority = redrive(id)
  if outcome == 'moved' then
    place(id, group, priority)
  elseif outcome == 'kept' then
    keptReady[#keptReady + 1] = id
  end
end
for _, id in ipairs(delayedIds) do
  local outcome, group, priority = redrive(id)
  if outcome == 'moved' then place(id, group, priority) end
  if outcome ~= 'kept' then leavingDelayed[#leavingDelayed + 1] = id end
end

redis.call('DEL', dlqReadyKey)
for start = 1, #keptReady, 1000 do
  redis.call('RPUSH', dlqReadyKey, unpack(keptReady, start, math.min(start + 999, #keptReady)))
end
for start = 1, #leavingDelayed, 1000 do
  redis.call('ZREM', dlqDelayedKey, unpack(leavingDelayed, start, math.min(start + 999, #leavingDelayed)))
end
for start = 1, #moved, 1000 do
  redis.call('RPUSH', readyKey, unpack(moved, start, math.min(start + 999, #moved)))
end
flushReadyElsewhere()
return movedCount
