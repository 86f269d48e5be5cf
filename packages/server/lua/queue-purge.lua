-- Drops a queue's ready and delayed messages; messages in flight stay leased (and their groups out).
--!include queue-keys
--!include queue-lanes
local L = lanes()
local laneKey, groupKey, turnsKey, groupNames = L.laneKey, L.groupKey, L.turnsKey, L.groupNames
local outKey, groupsKey, groupDelaysKey, laneTurnsKey = L.outKey, L.groupsKey, L.groupDelaysKey, L.laneTurnsKey
-- Returns how many messages were dropped.
local ids = redis.call('LRANGE', readyKey, 0, -1)
local dropped = { readyKey, delayedKey, levelsKey, laneTurnsKey }
for priority = 1, 9 do
  for _, id in ipairs(redis.call('LRANGE', laneKey(priority), 0, -1)) do ids[#ids + 1] = id end
  dropped[#dropped + 1] = laneKey(priority)
end
for priority = 0, 9 do dropped[#dropped + 1] = turnsKey(priority) end
-- Ready messages of groups.
local groups = groupNames()
for _, group in ipairs(groups) do
  for _, item in ipairs(redis.call('LRANGE', groupKey(group), 0, -1)) do ids[#ids + 1] = string.sub(item, 2) end
  dropped[#dropped + 1] = groupKey(group)
end
-- Delayed ones: a grouped one that a nack's delay held out frees its group.
for _, id in ipairs(redis.call('ZRANGE', delayedKey, 0, -1)) do
  ids[#ids + 1] = id
  local text = redis.call('HGET', messagesKey, id)
  local _, group = messagePlacement(text or '')
  if group and not isDeadLetterQueue and redis.call('HGET', outKey, group) == id then
    redis.call('HDEL', outKey, group)
  end
end
dropped[#dropped + 1] = groupDelaysKey
-- All a group may have left is its message in flight: the others end.
for _, group in ipairs(groups) do
  if redis.call('HEXISTS', outKey, group) == 0 then redis.call('HDEL', groupsKey, group) end
end
L.dropIfFillerAlone(outKey)
L.dropIfFillerAlone(groupsKey)
for start = 1, #ids, 1000 do
  local chunk = { unpack(ids, start, math.min(start + 999, #ids)) }
  redis.call('HDEL', messagesKey, unpack(chunk))
end
for start = 1, #dropped, 1000 do
  redis.call('DEL', unpack(dropped, start, math.min(start + 999, #dropped)))
end
redis.call('HDEL', countersKey, 'readyElsewhere')
return #ids
