-- Ending a message's life in this queue without an ack: dead-lettering, and the end of a lease.
-- Needs include/queue-keys.lua first.

-- Moves a message to "<queue>.dlq" (attempt starts again there), or discards it when this queue is
-- itself a dead-letter queue. Returns 1 when dead-lettered, 0 when discarded.
local function deadLetter(id, meta, body, reason)
  redis.call('HDEL', messagesKey, id)
  if isDeadLetterQueue or redis.call('HEXISTS', dlqMessagesKey, id) == 1 then
    redis.call('HINCRBY', countersKey, 'discarded', 1)
    return 0
  end
  meta.attempt = 0
  meta.reason = reason
  meta.expiresAt = 0
  redis.call('HSET', dlqMessagesKey, id, encodeMessage(meta, body))
  redis.call('RPUSH', dlqReadyKey, id)
  redis.call('HINCRBY', countersKey, 'deadLettered', 1)
  return 1
end

-- Ends the lease whose receipt is current (a member of inflight) and counts its delivery in the message's
-- entry. When that delivery was the last attempt, dead-letters the message. Returns its id and meta for the
-- caller to requeue (nil, nil when it was dead-lettered or is gone), then 1 when it reached the
-- dead-letter queue.
local function endLease(receipt)
  redis.call('ZREM', inflightKey, receipt)
  local id = receiptId(receipt)
  local text = redis.call('HGET', messagesKey, id)
  if not text then return nil, nil, 0 end
  local meta, body = decodeMessage(text)
  meta.attempt = meta.attempt + 1
  if meta.attempt >= meta.maxAttempts then
    return nil, nil, deadLetter(id, meta, body, 'maxAttempts')
  end
  redis.call('HSET', messagesKey, id, encodeMessage(meta, body))
  return id, meta, 0
end

-- Puts ended leases back at the head of the queue, keeping their acceptance order among themselves.
-- `entries` is a list of { id, seq }. Returns 1 when the queue was empty before, else 0.
local function requeueAtHead(entries)
  if #entries == 0 then return 0 end
  table.sort(entries, function(a, b) return a[2] > b[2] end)
  local ids = {}
  for index, entry in ipairs(entries) do ids[index] = entry[1] end
  local wasEmpty = redis.call('LLEN', readyKey) == 0 and 1 or 0
  redis.call('LPUSH', readyKey, unpack(ids))
  return wasEmpty
end
