-- Leases up to `max` messages from the head of a queue to one consumer. Expired messages met on the
-- way are discarded and counted, not delivered. Stored entries are only read: the delivery's attempt is
-- the ended deliveries + 1, and its lease is the receipt's entry in inflight.
--!include queue-keys
-- ARGV[2] max: how many messages at most
-- ARGV[3] visibility (ms): the lease lasts this long from now (Redis time)
-- ARGV[4] receipt token: hex of a fixed length, unique per call; each receipt is
--   "<token><index>:<id>", the index in decimal (see RECEIPT_TOKEN_BYTES in redis-queue-engine.ts)
-- ARGV[5] byte budget: once the bodies leased add up to this many bytes, no more are leased (the first
--   always is; 0 = no budget). A body is the message's encoded data and headers (queue-engine.ts:
--   NewMessage.body); the entry's meta fields do not count. The ids popped beyond it go back to the head, in
--   their order.
-- Returns { lease deadline (ms), how many stay ready, how many expired messages were discarded, then three
--   per message: id, receipt, and its stored entry as it is ("seq|attempt|maxAttempts|enqueuedAt|
--   expiresAt|reason|" then the body: the node reads the fields it needs, so nothing is copied here) }
local max = tonumber(ARGV[2])
local visibilityMs = tonumber(ARGV[3])
local token = ARGV[4]
local byteBudget = tonumber(ARGV[5]) or 0

local now = nowMs()
local deadline = now + visibilityMs
-- Formatted once: Redis would otherwise format the number again for every ZADD score.
local deadlineText = string.format('%d', deadline)
local result = { deadline, 0, 0 }
local ids = redis.call('LPOP', readyKey, max)
if ids then
  local inflightArgs, expiredIds = {}, {}
  local texts = redis.call('HMGET', messagesKey, unpack(ids))
  local n = 3
  local bytes = 0
  for index, id in ipairs(ids) do
    local text = texts[index]
    if byteBudget > 0 and bytes >= byteBudget then
      local unleased = {}
      for back = #ids, index, -1 do unleased[#unleased + 1] = ids[back] end
      redis.call('LPUSH', readyKey, unpack(unleased))
      break
    end
    if text then
      -- Only the expiry and where the body starts are read here (see decodeMessage for the layout).
      local expiresText, bodyStart = string.match(text, '^%d+|%d+|%d+|%d+|(%d+)|%a*|()')
      local expiresAt = tonumber(expiresText)
      if expiresAt > 0 and expiresAt <= now then
        expiredIds[#expiredIds + 1] = id
      else
        local receipt = token .. index .. ':' .. id
        inflightArgs[#inflightArgs + 1] = deadlineText
        inflightArgs[#inflightArgs + 1] = receipt
        result[n + 1] = id
        result[n + 2] = receipt
        result[n + 3] = text
        n = n + 3
        bytes = bytes + #text - bodyStart + 1
      end
    end
  end
  if #inflightArgs > 0 then redis.call('ZADD', inflightKey, unpack(inflightArgs)) end
  if #expiredIds > 0 then
    redis.call('HDEL', messagesKey, unpack(expiredIds))
    redis.call('HINCRBY', countersKey, 'expired', #expiredIds)
    result[3] = #expiredIds
  end
end
result[2] = redis.call('LLEN', readyKey)
return result
