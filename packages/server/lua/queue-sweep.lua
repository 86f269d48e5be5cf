-- The timed work of one queue: leases past their deadline end (requeued at the head, or dead-lettered
-- after the last attempt) and delayed messages that are due join the tail.
--!include queue-keys
--!include queue-lanes
--!include lease-end
-- ARGV[2] at most this many leases and as many delayed messages per call
-- Returns { 1 when a message became takeable that may not have been (the consumers are woken: rotationGrew,
--   pushPlain in queue-lanes.lua), when the next lease or delay is due (ms, 0 = none),
--   1 when work was left for another call, how many messages went to the dead-letter queue }
local limit = tonumber(ARGV[2])
local now = nowMs()

local expired = redis.call('ZRANGEBYSCORE', inflightKey, '-inf', now, 'LIMIT', 0, limit)
local requeued = {}
local deadLettered = 0
for _, receipt in ipairs(expired) do
  local id, meta, reachedDeadLetters = endLease(receipt)
  if id then requeued[#requeued + 1] = requeueEntry(id, meta) end
  deadLettered = deadLettered + reachedDeadLetters
end
requeueAtHead(requeued)

-- Due messages join the tail in acceptance order (equal due times would otherwise sort by id); one that
-- a nack delayed while holding its group out goes back to the head of its group instead (any other
-- grouped one was sent with its delay: see group-delays).
local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, limit)
if #due > 0 then
  redis.call('ZREM', delayedKey, unpack(due))
  local entries = {}
  for _, id in ipairs(due) do
    local text = redis.call('HGET', messagesKey, id)
    if text then
      local seq, group, priority = messagePlacement(text)
      if isDeadLetterQueue then group, priority = nil, 0 end
      entries[#entries + 1] = { id, seq, group, priority }
    end
  end
  table.sort(entries, function(a, b) return a[2] < b[2] end)
  local plain = {}
  for _, entry in ipairs(entries) do
    local id, _, group, priority = entry[1], entry[2], entry[3], entry[4]
    if group and redis.call('HGET', lanes().outKey, group) == id then
      lanes().addReady(id, group, priority, true)
      lanes().releaseGroup(group)
    elseif group or priority > 0 then
      if group then lanes().delayEndsInGroup(group) end
      lanes().addReady(id, group, priority, false)
    else
      plain[#plain + 1] = id
    end
  end
  if #plain > 0 then pushPlain('RPUSH', plain) end
end

local nextDue = 0
local firstLease = redis.call('ZRANGE', inflightKey, 0, 0, 'WITHSCORES')
local firstDelay = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
-- This sweep took the last delayed message: no group waits for a delay any more.
if #due > 0 and not firstDelay[2] and redis.call('EXISTS', groupDelaysKey) == 1 then
  lanes().forgetStaleDelays()
end
if firstLease[2] then nextDue = tonumber(firstLease[2]) end
if firstDelay[2] and (nextDue == 0 or tonumber(firstDelay[2]) < nextDue) then nextDue = tonumber(firstDelay[2]) end
local wasFilled = madeTakeable and 1 or 0
flushReadyElsewhere()
local more = (#expired == limit or #due == limit) and 1 or 0
return { wasFilled, nextDue, more, deadLettered }
