-- Accepts a batch of messages into a queue: deduplicates, stores, and makes each ready or delayed; a
-- message that would be ready at the head of an empty queue goes straight to a consumer that stands
-- waiting for it instead (push delivery: KEYS[11]), leased as a receive would lease it.
--!include queue-keys
-- ARGV[2] dedup window (ms): a producer id accepted within it is a duplicate
-- ARGV[3] how to publish the wake-up and the pushes: PUBLISH, or SPUBLISH on a Redis Cluster (the
--   channels share the queue's hash tag there, so the script stays in one slot)
-- ARGV[4] the queue's wake-up channel: published to here when the ready list goes from empty to not, so the
--   nodes consuming the queue pull at once (one round trip less than a PUBLISH of the node's own). A
--   push goes to "<wake-up channel>/<node id>" (keys.ts: pushChannel).
-- ARGV[5] receipt token for the pushed leases (as queue-receive.lua's ARGV[4])
-- ARGV[6] how many messages follow; then six ARGV per message:
--   id, '1' when the producer chose the id (deduplicated) else '0', delay (ms), ttl (ms, 0 = none),
--   maxAttempts, body
-- A push is one message on the node's channel: "<visibility ms>\n", then per lease
--   "<receipt length> <entry length>\n<receipt><stored entry>". A node that hears none (PUBLISH answers 0:
--   it is gone) loses its standing and its messages stay ready.
-- Returns { wasEmpty (1 when the ready list went from empty to not), earliest new delay due (ms, 0 = none),
--   earliest pushed lease deadline (ms, 0 = none), 1 when the due index already covers it (see
--   queue-receive.lua), then one flag per message: 1 = duplicate, 0 = stored }
local dedupWindowMs = tonumber(ARGV[2])
local publishCommand, wakeChannel = ARGV[3], ARGV[4]
local token = ARGV[5]
local count = tonumber(ARGV[6])

local now = nowMs()
redis.call('ZREMRANGEBYSCORE', dedupKey, '-inf', '(' .. string.format('%d', now - dedupWindowMs))

local result = { 0, 0, 0, 0 }
local messageArgs, readyIds, entries = {}, {}, {}
local accepted = {}
-- Reserve the batch's sequence numbers at once; a duplicate leaves a harmless gap.
local seq = redis.call('INCRBY', seqKey, count) - count
for index = 0, count - 1 do
  local base = 7 + index * 6
  local id, chosen = ARGV[base], ARGV[base + 1] == '1'
  local delayMs, ttlMs = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local maxAttempts, body = tonumber(ARGV[base + 4]), ARGV[base + 5]
  -- An id the server made is unique: only a producer's own id can be a duplicate.
  local duplicate = accepted[id] or (chosen and (redis.call('HEXISTS', messagesKey, id) == 1
    or redis.call('ZSCORE', dedupKey, id) ~= false))
  if duplicate then
    result[#result + 1] = 1
  else
    accepted[id] = true
    result[#result + 1] = 0
    seq = seq + 1
    local expiresAt = ttlMs > 0 and now + ttlMs or 0
    -- encodeMessage's layout, for a first attempt with no reason.
    local entry = string.format('%d|0|%d|%d|%d||', seq, maxAttempts, now, expiresAt) .. body
    messageArgs[#messageArgs + 1] = id
    messageArgs[#messageArgs + 1] = entry
    if chosen then redis.call('ZADD', dedupKey, 'NX', now, id) end
    if delayMs > 0 then
      local due = now + delayMs
      redis.call('ZADD', delayedKey, due, id)
      if result[2] == 0 or due < result[2] then result[2] = due end
    else
      readyIds[#readyIds + 1] = id
      entries[#readyIds] = entry
    end
  end
end
if #messageArgs > 0 then redis.call('HSET', messagesKey, unpack(messageArgs)) end

-- The consumers standing for this queue, when it has no ready message to hand out first (order).
local takers = {}
if #readyIds > 0 and redis.call('LLEN', readyKey) == 0 then
  local standing = redis.call('HGETALL', standingKey)
  for index = 1, #standing, 2 do
    local field = standing[index]
    local credit, untilMs = string.match(standing[index + 1], '^(%d+)|(%d+)$')
    local node, visibility = string.match(field, '^(.+)/(%d+)$')
    credit, untilMs = tonumber(credit), tonumber(untilMs)
    if node and credit and credit > 0 and untilMs > now then
      takers[#takers + 1] = {
        field = field, node = node, visibility = tonumber(visibility), credit = credit, untilMs = untilMs
      }
    else
      redis.call('HDEL', standingKey, field)
    end
  end
end

-- Each message in turn to the taker with the most credit left; the first that none can take stays ready,
-- and so do all after it.
local takerOf = {}
if #takers > 0 then
  for index = 1, #readyIds do
    local taker
    for _, candidate in ipairs(takers) do
      if candidate.credit > 0 and (not taker or candidate.credit > taker.credit) then taker = candidate end
    end
    if not taker then break end
    taker.credit = taker.credit - 1
    takerOf[index] = taker
    if not taker.frames then taker.frames, taker.receipts = {}, {} end
    local receipt = token .. index .. ':' .. readyIds[index]
    local entry = entries[index]
    taker.frames[#taker.frames + 1] = string.format('%d %d\n', #receipt, #entry) .. receipt .. entry
    taker.receipts[#taker.receipts + 1] = receipt
  end
end

local earliestLease = #takers > 0 and redis.call('ZRANGE', inflightKey, 0, 0, 'WITHSCORES')[2]
local inflightArgs = {}
for _, taker in ipairs(takers) do
  if taker.frames then
    local heard = redis.call(publishCommand, wakeChannel .. '/' .. taker.node,
      taker.visibility .. '\n' .. table.concat(taker.frames))
    if heard > 0 then
      local deadline = string.format('%d', now + taker.visibility)
      for _, receipt in ipairs(taker.receipts) do
        inflightArgs[#inflightArgs + 1] = deadline
        inflightArgs[#inflightArgs + 1] = receipt
      end
      if result[3] == 0 or now + taker.visibility < result[3] then result[3] = now + taker.visibility end
      if taker.credit > 0 then
        redis.call('HSET', standingKey, taker.field, string.format('%d|%d', taker.credit, taker.untilMs))
      else
        redis.call('HDEL', standingKey, taker.field)
      end
    else
      taker.gone = true
      redis.call('HDEL', standingKey, taker.field)
    end
  end
end
if #inflightArgs > 0 then
  redis.call('ZADD', inflightKey, unpack(inflightArgs))
  if earliestLease and tonumber(earliestLease) <= result[3] then result[4] = 1 end
end

-- What no live taker took is ready, in acceptance order.
local stillReady = {}
for index, id in ipairs(readyIds) do
  local taker = takerOf[index]
  if not taker or taker.gone then stillReady[#stillReady + 1] = id end
end
if #stillReady > 0 then
  if redis.call('RPUSH', readyKey, unpack(stillReady)) == #stillReady then
    result[1] = 1
    redis.call(publishCommand, wakeChannel, '1')
  end
end
return result
