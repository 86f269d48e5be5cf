-- The KEYS of every queue script, in the order scripts.ts passes them (all in one hash-tag slot):
-- KEYS[1]  ready: list of message ids, delivered from the head
-- KEYS[2]  messages: hash, id -> "seq|attempt|maxAttempts|enqueuedAt|expiresAt|reason|" then the body (the
--          encoded data and headers); times in ms since the epoch, 0 = none. `attempt` counts the
--          deliveries that have ended, so a message in flight is on delivery attempt + 1: an entry is
--          written when a message is stored and when a lease ends, never when one starts. A message with a
--          group or a priority above 0 (docs/protocol.md §11) has them after its reason, in the same field:
--          "reason~priority~group" (group empty when none); plain messages keep the first form. A reader
--          that knows only the first form fails on the second instead of misreading it.
-- KEYS[3]  inflight: sorted set, receipt of the current lease -> its deadline (ms, Redis time). A receipt
--          is "<hex token>:<id>", the token unique per delivery, so a receipt is current exactly when it
--          is a member here. A grouped message's receipt is "<hex token>/<group>/<id>" (neither holds a
--          "/"), so settling it frees its group without reading its entry (queue-lanes.lua).
-- KEYS[4]  delayed: sorted set, id -> when it becomes ready (ms, Redis time)
-- KEYS[5]  dedup: sorted set, producer id -> first acceptance (ms, Redis time)
-- KEYS[6]  counters: hash, expired / discarded / deadLettered / sent / acked totals
-- KEYS[7]  seq: string, the sequence shared by a queue and its dead-letter queue (acceptance order)
-- KEYS[8] dead-letter ready, KEYS[9] dead-letter messages, KEYS[10] dead-letter delayed: the same keys
--   of "<queue>.dlq"
-- KEYS[11] standing: hash, "<node id>/<visibility ms>" -> "<credit>|<until ms>|g" ("|g": the node reads
--          grouped pushes; a node of an earlier release leaves it out): consumers of one node
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

-- A stored message as its meta (a table: group nil when none) and its body.
local function decodeMessage(text)
  local seq, attempt, maxAttempts, enqueuedAt, expiresAt, reasonField, bodyStart =
    string.match(text, '^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)|()')
  local reason, priority, group = string.match(reasonField, '^(%a*)~(%d)~(.*)$')
  if not reason then reason, priority, group = reasonField, '0', '' end
  local meta = {
    seq = tonumber(seq), attempt = tonumber(attempt), maxAttempts = tonumber(maxAttempts),
    enqueuedAt = tonumber(enqueuedAt), expiresAt = tonumber(expiresAt), reason = reason,
    priority = tonumber(priority), group = group ~= '' and group or nil
  }
  return meta, string.sub(text, bodyStart)
end

-- A digit (a priority, the units of a seq) as text, by table: Lua formats a number it concatenates or
-- passes to Redis with sprintf, which costs more than the rest of a grouped message's bookkeeping.
local DIGIT_TEXT = { [0] = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' }

-- What follows the reason in a stored entry: its group and priority ('' when plain: see KEYS[2]).
local function placementFields(group, priority)
  if not group and priority == 0 then return '' end
  return '~' .. DIGIT_TEXT[priority] .. '~' .. (group or '')
end

local function encodeMessage(meta, body)
  return string.format('%d|%d|%d|%d|%d|%s%s|', meta.seq, meta.attempt, meta.maxAttempts,
    meta.enqueuedAt, meta.expiresAt, meta.reason, placementFields(meta.group, meta.priority)) .. body
end

-- The acceptance order, group (nil when none) and priority of a stored message, without copying its body.
local function messagePlacement(text)
  local seq, priority, group = string.match(text, '^(%d+)|%d+|%d+|%d+|%d+|%a*~(%d)~([^|]*)|')
  if not seq then return tonumber(string.match(text, '^(%d+)|')), nil, 0 end
  return tonumber(seq), group ~= '' and group or nil, tonumber(priority)
end

-- The acceptance order of a stored message, without copying its body.
local function messageSeq(text)
  return tonumber(string.match(text, '^(%d+)|'))
end

-- A receipt's message id, and its group when it names one: "<hex token>:<id>" (the id may itself hold
-- ':'), or "<hex token>/<group>/<id>" for a grouped message. Ids and groups hold no '/' (names.ts, since
-- the first release), nor do tokens: a receipt with a '/' is a grouped one, and its first '/' ends the
-- token. Only receipts read from inflight come here. Plain searches, not patterns: an ack parses one per
-- message, and a pattern's backtracking costs several times more.
local function receiptParts(receipt)
  local slash = string.find(receipt, '/', 1, true)
  if slash then
    local second = string.find(receipt, '/', slash + 1, true)
    return string.sub(receipt, second + 1), string.sub(receipt, slash + 1, second - 1)
  end
  local colon = string.find(receipt, ':', 1, true)
  if not colon then return nil, nil end
  return string.sub(receipt, colon + 1), nil
end

local function receiptId(receipt)
  return (receiptParts(receipt))
end

-- The receipt of a lease: the call's token (unique per call) and the message's id (unique within a call).
-- No counter between them: Lua formats a number it concatenates with sprintf("%.14g"), which cost Redis
-- 0.45 µs per message leased. Receipts of earlier releases have one ("<token><index>:<id>"); everything
-- that parses a receipt reads up to the first ':' or '/', so both forms settle alike.
local function receiptOf(token, id, group)
  if group then return token .. '/' .. group .. '/' .. id end
  return token .. ':' .. id
end
