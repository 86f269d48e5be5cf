-- The KEYS of every queue script, in the order scripts.ts passes them (all in one hash-tag slot):
-- KEYS[1]  ready: list of message ids, delivered from the head
-- KEYS[2]  meta: hash, id -> "seq|attempt|maxAttempts|enqueuedAt|expiresAt|reason" (ms since the epoch;
--          0 = none). `attempt` counts the deliveries that have ended, so a message in flight is on
--          delivery attempt + 1; meta is written when a message is stored and when a lease ends, never
--          when one starts.
-- KEYS[3]  bodies: hash, id -> the encoded data and headers
-- KEYS[4]  inflight: sorted set, receipt of the current lease -> its deadline (ms, Redis time). A receipt
--          is "<hex token>:<id>", the token unique per delivery, so a receipt is current exactly when it
--          is a member here.
-- KEYS[5]  delayed: sorted set, id -> when it becomes ready (ms, Redis time)
-- KEYS[6]  dedup: sorted set, producer id -> first acceptance (ms, Redis time)
-- KEYS[7]  counters: hash, expired / discarded / deadLettered totals
-- KEYS[8]  seq: string, the sequence shared by a queue and its dead-letter queue (acceptance order)
-- KEYS[9] dead-letter ready, KEYS[10] dead-letter meta, KEYS[11] dead-letter bodies,
-- KEYS[12] dead-letter delayed: the same keys of "<queue>.dlq"
-- ARGV[1] of every queue script: '1' when the queue is itself a dead-letter queue, else '0'
local readyKey, metaKey, bodiesKey = KEYS[1], KEYS[2], KEYS[3]
local inflightKey, delayedKey = KEYS[4], KEYS[5]
local dedupKey, countersKey, seqKey = KEYS[6], KEYS[7], KEYS[8]
local dlqReadyKey, dlqMetaKey, dlqBodiesKey, dlqDelayedKey = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local isDeadLetterQueue = ARGV[1] == '1'

local function nowMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function decodeMeta(text)
  local seq, attempt, maxAttempts, enqueuedAt, expiresAt, reason =
    string.match(text, '^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%a*)$')
  return {
    seq = tonumber(seq), attempt = tonumber(attempt), maxAttempts = tonumber(maxAttempts),
    enqueuedAt = tonumber(enqueuedAt), expiresAt = tonumber(expiresAt), reason = reason
  }
end

local function encodeMeta(meta)
  return string.format('%d|%d|%d|%d|%d|%s', meta.seq, meta.attempt, meta.maxAttempts,
    meta.enqueuedAt, meta.expiresAt, meta.reason)
end

-- A receipt is "<hex token>:<id>"; the id may itself hold ':'.
local function receiptId(receipt)
  return string.match(receipt, '^%x+:(.+)$')
end
