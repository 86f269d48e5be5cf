-- The KEYS of every queue script, in the order scripts.ts passes them (all in one hash-tag slot):
-- KEYS[1]  ready: list of message ids, delivered from the head
-- KEYS[2]  messages: hash, id -> "seq|attempt|maxAttempts|enqueuedAt|expiresAt|reason|" then the body (the
--          encoded data and headers); times in ms since the epoch, 0 = none. `attempt` counts the
--          deliveries that have ended, so a message in flight is on delivery attempt + 1: an entry is
--          written when a message is stored and when a lease ends, never when one starts.
-- KEYS[3]  inflight: sorted set, receipt of the current lease -> its deadline (ms, Redis time). A receipt
--          is "<hex token>:<id>", the token unique per delivery, so a receipt is current exactly when it
--          is a member here.
-- KEYS[4]  delayed: sorted set, id -> when it becomes ready (ms, Redis time)
-- KEYS[5]  dedup: sorted set, producer id -> first acceptance (ms, Redis time)
-- KEYS[6]  counters: hash, expired / discarded / deadLettered totals
-- KEYS[7]  seq: string, the sequence shared by a queue and its dead-letter queue (acceptance order)
-- KEYS[8] dead-letter ready, KEYS[9] dead-letter messages, KEYS[10] dead-letter delayed: the same keys
--   of "<queue>.dlq"
-- KEYS[11] standing: hash, "<node id>/<visibility ms>" -> "<credit>|<until ms>": consumers of one node
--          (those with that visibility) whose last pull left the queue empty, and how many messages they
--          take now; a send leases that many straight to them (queue-send.lua: push delivery). Stale after
--          `until` (a node that died holds no more than the credit it left, as a pull would have).
-- ARGV[1] of every queue script: '1' when the queue is itself a dead-letter queue, else '0'
local readyKey, messagesKey, inflightKey = KEYS[1], KEYS[2], KEYS[3]
local delayedKey, dedupKey, countersKey, seqKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local dlqReadyKey, dlqMessagesKey, dlqDelayedKey = KEYS[8], KEYS[9], KEYS[10]
local standingKey = KEYS[11]
local isDeadLetterQueue = ARGV[1] == '1'

local function nowMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- A stored message as its meta (a table) and its body.
local function decodeMessage(text)
  local seq, attempt, maxAttempts, enqueuedAt, expiresAt, reason, bodyStart =
    string.match(text, '^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%a*)|()')
  local meta = {
    seq = tonumber(seq), attempt = tonumber(attempt), maxAttempts = tonumber(maxAttempts),
    enqueuedAt = tonumber(enqueuedAt), expiresAt = tonumber(expiresAt), reason = reason
  }
  return meta, string.sub(text, bodyStart)
end

local function encodeMessage(meta, body)
  return string.format('%d|%d|%d|%d|%d|%s|', meta.seq, meta.attempt, meta.maxAttempts,
    meta.enqueuedAt, meta.expiresAt, meta.reason) .. body
end

-- The acceptance order of a stored message, without copying its body.
local function messageSeq(text)
  return tonumber(string.match(text, '^(%d+)|'))
end

-- A receipt is "<hex token>:<id>"; the id may itself hold ':'.
local function receiptId(receipt)
  return string.match(receipt, '^%x+:(.+)$')
end
