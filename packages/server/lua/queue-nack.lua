-- Rejects one delivery: requeue it (at the head, or after a delay at the tail; a grouped message delayed
-- so keeps its group out until it is back at the group's head), or dead-letter it.
--!include queue-keys
--!include queue-lanes
--!include lease-end
-- ARGV[2] receipt
-- ARGV[3] '1' to requeue, '0' to dead-letter
-- ARGV[4] delay before it is ready again (ms, 0 = at once)
-- Returns { 1 when the receipt was current else 0, 1 when dead-lettered, 1 when the ready list was
--   empty before, due time of the delay (ms, 0 = none) }
local receipt = ARGV[2]
local requeue = ARGV[3] == '1'
local delayMs = tonumber(ARGV[4])

if not redis.call('ZSCORE', inflightKey, receipt) then return { 0, 0, 0, 0 } end

if not requeue then
  redis.call('ZREM', inflightKey, receipt)
  local id, group = receiptParts(receipt)
  local text = redis.call('HGET', messagesKey, id)
  if not text then
    if group then lanes().releaseGroup(group) end
    return { 1, 0, 0, 0 }
  end
  local meta, body = decodeMessage(text)
  local deadLettered = deadLetter(id, meta, body, 'rejected')
  flushReadyElsewhere()
  return { 1, deadLettered, madeTakeable and 1 or 0, 0 }
end

local id, meta, deadLettered = endLease(receipt)
if not id then
  flushReadyElsewhere()
  return { 1, deadLettered, madeTakeable and 1 or 0, 0 }
end
if delayMs > 0 then
  local due = nowMs() + delayMs
  redis.call('ZADD', delayedKey, due, id)
  return { 1, 0, 0, due }
end
local wake = requeueAtHead({ requeueEntry(id, meta) })
flushReadyElsewhere()
return { 1, 0, wake, 0 }
