-- Ending a message's life in this queue without an ack: dead-lettering, and the end of a lease.
-- Needs include/queue-keys.lua and include/queue-lanes.lua first.

-- Moves a message to "<queue>.dlq" (attempt starts again there, group and priority kept as facts), or
-- discards it when this queue is itself a dead-letter queue. A grouped message was its group's one out:
-- the group's next may go (or the group ends). Returns 1 when dead-lettered, 0 when discarded.
local function deadLetter(id, meta, body, reason)
  redis.call('HDEL', messagesKey, id)
  local group = placementOf(meta)
  if group then lanes().releaseGroup(group) end
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
  local id, group = receiptParts(receipt)
  local text = redis.call('HGET', messagesKey, id)
  if not text then
    if group then lanes().releaseGroup(group) end
    return nil, nil, 0
  end
  local meta, body = decodeMessage(text)
  meta.attempt = meta.attempt + 1
  if meta.attempt >= meta.maxAttempts then
    return nil, nil, deadLetter(id, meta, body, 'maxAttempts')
  end
  redis.call('HSET', messagesKey, id, encodeMessage(meta, body))
  return id, meta, 0
end

-- What requeueAtHead (queue-lanes.lua) takes for a message whose lease ended.
local function requeueEntry(id, meta)
  local group, priority = placementOf(meta)
  return { id, meta.seq, group, priority }
end
