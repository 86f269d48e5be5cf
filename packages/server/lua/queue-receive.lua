-- Leases up to `max` messages from the head of a queue to one consumer: from its one list when it is
-- plain, else by priority and in turns across its groups (queue-lanes.lua). Expired messages met on the
-- way are discarded and counted, not delivered. Stored entries are only read: the delivery's attempt is
-- the ended deliveries + 1, and its lease is the receipt's entry in inflight.
--!include queue-keys
--!include queue-lanes
-- ARGV[2] max: how many messages at most
-- ARGV[3] visibility (ms): the lease lasts this long from now (Redis time)
-- ARGV[4] receipt token: hex of a fixed length, unique per call; each receipt is "<token>:<id>"
--   ("<token>/<group>/<id>" for a grouped message; see RECEIPT_TOKEN_BYTES in redis-queue-engine.ts)
-- ARGV[5] byte budget: once the bodies leased add up to this many bytes, no more are leased (the first
--   always is; 0 = no budget). A body is the message's encoded data and headers (queue-engine.ts:
--   NewMessage.body); the entry's meta fields do not count. The ids popped beyond it go back to the head, in
--   their order.
-- ARGV[6] standing credit: when this receive leaves no message ready, the consumers it pulls for (this
--   node's, with this visibility) take this many messages in all, less those leased here, straight from
--   later sends (KEYS[11]); 0 = none. A receive that leaves messages ready withdraws the node's credit:
--   its consumers pull.
-- ARGV[7] the node's field in KEYS[11] for consumers of this visibility (keys.ts: standingField), ARGV[8] how
--   long a standing credit lasts (ms) unless a receive renews it. The credit is written
--   "<credit>|<until ms>|g": the "|g" says the node reads grouped pushes. A node of the release before them
--   writes none, and its sends delete a credit so written (a form they do not read): groups are pushed
--   only to nodes whose credits all have it.
-- Returns { lease deadline (ms), how many stay ready that may be taken now (0 when only messages of groups
--   out wait), how many expired messages were discarded, 1 when the
--   due index already covers the new leases (else 0: the caller marks the deadline), the last seq pushed
--   to this node (queue-send.lua: "<node id>/pushed"; 0 = none): a push the node may not have heard yet,
--   which goes before these leases, then three
--   per message: id, receipt, and its stored entry as it is ("seq|attempt|maxAttempts|enqueuedAt|
--   expiresAt|reason|" then the body: the node reads the fields it needs, so nothing is copied here) }
local max = tonumber(ARGV[2])
local visibilityMs = tonumber(ARGV[3])
local token = ARGV[4]
local byteBudget = tonumber(ARGV[5]) or 0
local standingCredit = tonumber(ARGV[6]) or 0
local standingField = ARGV[7] or ''
local standingLifeMs = tonumber(ARGV[8]) or 0

local now = nowMs()
local deadline = now + visibilityMs
-- Formatted once: Redis would otherwise format the number again for every ZADD score.
local deadlineText = string.format('%d', deadline)
local result = { deadline, 0, 0, 0, 0 }
local leased = 0
local inflightArgs, expiredIds = {}, {}
-- Whether the rotation had nothing more to give (messages of groups out may still wait).
local exhausted = false
local n = 5
local bytes = 0

-- Leases one taken message, or discards it when its TTL has passed (the caller frees a discarded
-- message's group). Returns whether it was leased.
local function leaseTaken(id, group, text)
  if not text then return false end
  -- Only the expiry and where the fields end are read here (see decodeMessage for the layout).
  local expiresText, bodyStart = string.match(text, '^%d+|%d+|%d+|%d+|(%d+)|[^|]*|()')
  -- '0' (no TTL) is read without tonumber, which costs Redis more than the rest of this check.
  if expiresText ~= '0' and tonumber(expiresText) <= now then
    expiredIds[#expiredIds + 1] = id
    return false
  end
  local receipt = receiptOf(token, id, group)
  inflightArgs[#inflightArgs + 1] = deadlineText
  inflightArgs[#inflightArgs + 1] = receipt
  result[n + 1] = id
  result[n + 2] = receipt
  result[n + 3] = text
  n = n + 3
  leased = leased + 1
  bytes = bytes + #text - bodyStart + 1
  return true
end

if not hasLevels() then
  -- A plain queue: in bulk from its one list.
  local ids = redis.call('LPOP', readyKey, max)
  if ids then
    local texts = redis.call('HMGET', messagesKey, unpack(ids))
    for index, id in ipairs(ids) do
      if byteBudget > 0 and bytes >= byteBudget then
        local unleased = {}
        for back = #ids, index, -1 do unleased[#unleased + 1] = ids[back] end
        redis.call('LPUSH', readyKey, unpack(unleased))
        break
      end
      leaseTaken(id, nil, texts[index])
    end
  end
else
  -- Groups or priorities: by priority and in turns, a pass of a rotation at a time (queue-lanes.lua). A
  -- batch is cut where the byte budget runs out, and after a group's message that left the queue (its
  -- group may go again: the next batch sees it).
  local takes = 0
  while takes < max and not (byteBudget > 0 and bytes >= byteBudget) do
    local ids, groups = lanes().takeBatch(max - takes)
    if #ids == 0 then
      -- What stays ready waits for groups out: nothing more to take now.
      exhausted = true
      break
    end
    local texts = redis.call('HMGET', messagesKey, unpack(ids))
    local kept, endedLast = #ids, false
    for index, id in ipairs(ids) do
      if byteBudget > 0 and bytes >= byteBudget then
        kept = index - 1
        break
      end
      takes = takes + 1
      local group = groups[index] or nil
      if not leaseTaken(id, group, texts[index]) and group then
        kept, endedLast = index, true
        break
      end
    end
    lanes().settleTaken(kept, endedLast)
  end
end
if #inflightArgs > 0 then
  -- A lease ending no later than these is marked in the due index already (its receive marked it, or a
  -- sweep that saw it left the queue due at or before it), and the sweep at that due sees these leases
  -- too: the caller's mark would change nothing. At a steady rate this saves a call per receive.
  -- Only a lease not yet overdue counts: an overdue one may have lost its mark (its node died before
  -- writing it), and this receive's mark then heals the queue.
  local earliest = tonumber(redis.call('ZRANGE', inflightKey, 0, 0, 'WITHSCORES')[2])
  if earliest and earliest > now and earliest <= deadline then result[4] = 1 end
  redis.call('ZADD', inflightKey, unpack(inflightArgs))
end
if #expiredIds > 0 then
  redis.call('HDEL', messagesKey, unpack(expiredIds))
  redis.call('HINCRBY', countersKey, 'expired', #expiredIds)
  result[3] = #expiredIds
end
flushReadyElsewhere()
local standingNode = string.match(standingField, '^(.+)/%d+$')
local pushedRecord = standingNode and redis.call('HGET', standingKey, standingNode .. '/pushed')
if pushedRecord then result[5] = tonumber(string.match(pushedRecord, '^(%d+)')) or 0 end
if exhausted then
  result[2] = 0
elseif hasLevels() then
  result[2] = readyCount()
else
  -- No level: only the plain list can be taken from (the rest belongs to groups out).
  result[2] = redis.call('LLEN', readyKey)
end
local credit = standingCredit - leased
if result[2] == 0 and credit > 0 then
  -- "|g": this node reads pushed grouped messages (queue-send.lua).
  redis.call('HSET', standingKey, standingField, string.format('%d|%d|g', credit, now + standingLifeMs))
  -- The hash goes with its last credit: nodes that died leave nothing behind for long.
  redis.call('PEXPIRE', standingKey, standingLifeMs)
elseif standingCredit > 0 then
  redis.call('HDEL', standingKey, standingField)
end
return result
