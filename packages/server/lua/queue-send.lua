-- Accepts a batch of messages into a queue: deduplicates, stores, and makes each ready or delayed; a
-- message that would be ready at the head of an empty queue goes straight to a consumer that stands
-- waiting for it instead (push delivery: KEYS[11]), leased as a receive would lease it.
--!include queue-keys
--!include queue-lanes
-- ARGV[2] dedup window (ms): a producer id accepted within it is a duplicate
-- ARGV[3] how to publish the wake-up and the pushes: PUBLISH, or SPUBLISH on a Redis Cluster (the
--   channels share the queue's hash tag there, so the script stays in one slot)
-- ARGV[4] the queue's wake-up channel: published to here when the ready list goes from empty to not, so the
--   nodes consuming the queue pull at once (one round trip less than a PUBLISH of the node's own). A
--   push goes to "<wake-up channel>/<node id>" (keys.ts: pushChannel).
-- ARGV[5] receipt token for the pushed leases (as queue-receive.lua's ARGV[4])
-- ARGV[6] the most bytes of stored entries one push carries (a message bigger than that stays ready, and
--   so does every message after it: pub/sub is not for bulk, and a node's subscriber is bounded)
-- ARGV[7] how many messages follow; then eight ARGV per message:
--   id, '1' when the producer chose the id (deduplicated) else '0', delay (ms), ttl (ms, 0 = none),
--   maxAttempts, group ('' = none), priority (0-9), body
-- A message with a priority above 0 joins its lane (queue-lanes.lua) and is not pushed; nor is a grouped
-- message of a batch that holds one. A grouped message is pushed as its group's head when its group has
-- none out, no ready message, and the batch none before it (an idle group): its group is then out, as a
-- take leaves it; any other joins its group. Pushes only go to a queue that has no ready message at all, and grouped
-- ones only when every taker's credit is marked "|g": its node reads them (queue-receive.lua).
-- A push is one message on the node's channel: "<visibility ms>\n", then per lease
--   "<receipt length> <entry length>\n<receipt><stored entry>". A node that hears none (PUBLISH answers 0:
--   it is gone) loses its standing, and its messages stay ready.
-- Beside its credits, a node pushed to has the field "<node id>/pushed": "<last seq pushed>|<until ms>",
--   which queue-receive.lua answers: a push and a later pull's reply travel on two connections, and the
--   node waits for the push before it hands out what the pull leased (redis-queue-engine.ts). It goes at
--   its credit's end (no push comes from that credit after it).
-- Returns { wasEmpty (1 when the ready list went from empty to not, or a message joined a lane above 0, or
--   a group entered its rotation: the script published the wake-up), earliest new delay due (ms, 0 = none),
--   earliest pushed lease deadline (ms, 0 = none), 1 when the due index already covers it (see
--   queue-receive.lua), then one flag per message: 1 = duplicate, 0 = stored }
local dedupWindowMs = tonumber(ARGV[2])
local publishCommand, wakeChannel = ARGV[3], ARGV[4]
local token = ARGV[5]
local pushMaxBytes = tonumber(ARGV[6])
local count = tonumber(ARGV[7])

local now = nowMs()
redis.call('ZREMRANGEBYSCORE', dedupKey, '-inf', '(' .. string.format('%d', now - dedupWindowMs))

local result = { 0, 0, 0, 0 }
-- Ready now and maybe pushed: ids, seqs, stored entries and groups (false when none), in acceptance order.
local messageArgs, readyIds, readySeqs, entries, readyGroups = {}, {}, {}, {}, {}
-- Whether grouped messages may be pushed: the batch has no priority above 0 (see the header).
local pushesGroups = not isDeadLetterQueue
for index = 0, count - 1 do
  if ARGV[14 + index * 8] ~= '0' then pushesGroups = false end
end
-- Whether the queue holds a ready message already: then nothing of this batch is pushed (order), and its
-- grouped messages join their groups as they come.
local queueHadReady = redis.call('LLEN', readyKey) > 0 or (hasLevels() and readyCount() > 0)
local accepted = {}
-- An entry's fields between its seq and its reason ("|0|<maxAttempts>|<enqueuedAt>|<expiresAt>|"), formatted
-- once for the messages of a batch that share them: Lua formats numbers with sprintf, which cost Redis
-- more per message than the rest of the entry.
local timesText, timesMaxAttempts, timesExpiresAt = nil, nil, nil
-- Reserve the batch's sequence numbers at once; a duplicate leaves a harmless gap.
local seq = redis.call('INCRBY', seqKey, count) - count
-- Each seq's decimal text is its tens' text (formatted when the units wrap, once per ten) and its units'
-- digit: a string.format per message cost Redis about 1,700 instructions.
local seqTensText = nil
-- The numbers of a message's fields, read without tonumber where the text says it (tonumber cost Redis
-- 1,100-1,500 instructions per field): delay, ttl and priority are mostly '0', maxAttempts mostly the
-- batch's own. (Lua strings are interned: comparing two is comparing two pointers.)
local maxAttemptsText, maxAttemptsOfText = nil, nil
for index = 0, count - 1 do
  local base = 8 + index * 8
  local id, chosen = ARGV[base], ARGV[base + 1] == '1'
  local delayText, ttlText = ARGV[base + 2], ARGV[base + 3]
  local delayMs = delayText == '0' and 0 or tonumber(delayText)
  local ttlMs = ttlText == '0' and 0 or tonumber(ttlText)
  if ARGV[base + 4] ~= maxAttemptsText then
    maxAttemptsText = ARGV[base + 4]
    maxAttemptsOfText = tonumber(maxAttemptsText)
  end
  local maxAttempts, body = maxAttemptsOfText, ARGV[base + 7]
  local group, priorityText = ARGV[base + 5], ARGV[base + 6]
  local priority = priorityText == '0' and 0 or tonumber(priorityText)
  if group == '' or isDeadLetterQueue then group = nil end
  if isDeadLetterQueue then priority = 0 end
  -- An id the server made is unique: only a producer's own id can be a duplicate.
  local duplicate = accepted[id] or (chosen and (redis.call('HEXISTS', messagesKey, id) == 1
    or redis.call('ZSCORE', dedupKey, id) ~= false))
  if duplicate then
    result[#result + 1] = 1
  else
    accepted[id] = true
    result[#result + 1] = 0
    seq = seq + 1
    local seqUnits = seq % 10
    if seqUnits == 0 or not seqTensText then
      local seqTens = (seq - seqUnits) / 10
      seqTensText = seqTens > 0 and string.format('%d', seqTens) or ''
    end
    local expiresAt = ttlMs > 0 and now + ttlMs or 0
    if maxAttempts ~= timesMaxAttempts or expiresAt ~= timesExpiresAt then
      timesMaxAttempts, timesExpiresAt = maxAttempts, expiresAt
      timesText = string.format('|0|%d|%d|%d|', maxAttempts, now, expiresAt)
    end
    -- encodeMessage's layout, for a first attempt with no reason, made in one concatenation.
    local entry
    if group or priority > 0 then
      entry = seqTensText .. DIGIT_TEXT[seqUnits] .. timesText .. '~' .. DIGIT_TEXT[priority] .. '~' .. (group or '') .. '|' .. body
    else
      entry = seqTensText .. DIGIT_TEXT[seqUnits] .. timesText .. '|' .. body
    end
    messageArgs[#messageArgs + 1] = id
    messageArgs[#messageArgs + 1] = entry
    if chosen then redis.call('ZADD', dedupKey, 'NX', now, id) end
    if delayMs > 0 then
      local due = now + delayMs
      redis.call('ZADD', delayedKey, due, id)
      if group then lanes().delayInGroup(group) end
      if result[2] == 0 or due < result[2] then result[2] = due end
    elseif priority > 0 or (group and (queueHadReady or not pushesGroups)) then
      lanes().addSent(id, group, priority)
    else
      readyIds[#readyIds + 1] = id
      readySeqs[#readyIds] = seq
      entries[#readyIds] = entry
      readyGroups[#readyIds] = group or false
    end
  end
end
if #messageArgs > 0 then
  redis.call('HSET', messagesKey, unpack(messageArgs))
  -- Running totals, cluster-wide: the dashboard's rates (docs/protocol.md §12).
  redis.call('HINCRBY', countersKey, 'sent', #messageArgs / 2)
end

-- The consumers standing for this queue, when it has no ready message to hand out first (order).
local takers = {}
-- (KEYS[1] is still empty when it was: only the end of this script pushes to it.)
if #readyIds > 0 and not queueHadReady and (not hasLevels() or readyCount() == 0) then
  local standing = redis.call('HGETALL', standingKey)
  for index = 1, #standing, 2 do
    local field = standing[index]
    local credit, untilMs, mark = string.match(standing[index + 1], '^(%d+)|(%d+)(|?g?)$')
    local node, visibility = string.match(field, '^(.+)/(%d+)$')
    credit, untilMs = tonumber(credit), tonumber(untilMs)
    if string.sub(field, -7) == '/pushed' then
      if untilMs and untilMs <= now then redis.call('HDEL', standingKey, field) end
    elseif node and credit and credit > 0 and untilMs > now then
      takers[#takers + 1] = {
        field = field, node = node, visibility = tonumber(visibility), credit = credit, untilMs = untilMs,
        mark = mark
      }
    else
      redis.call('HDEL', standingKey, field)
    end
  end
end

-- What may be pushed, in acceptance order (indexes into readyIds): the plain messages, and the heads of
-- idle groups (a later message of such a group follows its head into the group, as does every message of
-- a group out).
local pushable = {}
for _, taker in ipairs(takers) do
  if taker.mark ~= '|g' then pushesGroups = false end
end
if #takers > 0 then
  local idle = {}
  if pushesGroups then
    local groups, asked = {}, {}
    for index = 1, #readyIds do
      local group = readyGroups[index]
      if group and not asked[group] then
        asked[group] = true
        groups[#groups + 1] = group
      end
    end
    idle = lanes().idleGroups(groups)
  end
  for index = 1, #readyIds do
    local group = readyGroups[index]
    if not group then
      pushable[#pushable + 1] = index
    elseif idle[group] then
      idle[group] = false
      pushable[#pushable + 1] = index
    end
  end
end

-- Takers in turn, the most credit first, each a run of `pushable` in order as far as its credit and the
-- push's byte bound go. A run is published before the next is built: the first run that no subscriber
-- hears (its node is gone) stays ready with everything after it, so what is pushed always comes before
-- what stays ready.
table.sort(takers, function(a, b) return a.credit > b.credit end)
local earliestLease = #takers > 0 and redis.call('ZRANGE', inflightKey, 0, 0, 'WITHSCORES')[2]
local inflightArgs = {}
local pushed = 0
for _, taker in ipairs(takers) do
  local frames, receipts, bytes, first = {}, {}, 0, pushed + 1
  while pushed < #pushable and #frames < taker.credit do
    local index = pushable[pushed + 1]
    local receipt = receiptOf(token, readyIds[index], readyGroups[index] or nil)
    local entry = entries[index]
    if bytes + #entry > pushMaxBytes then break end
    frames[#frames + 1] = string.format('%d %d\n', #receipt, #entry) .. receipt .. entry
    receipts[#receipts + 1] = receipt
    bytes = bytes + #entry
    pushed = pushed + 1
  end
  if #frames == 0 then break end
  local heard = redis.call(publishCommand, wakeChannel .. '/' .. taker.node,
    taker.visibility .. '\n' .. table.concat(frames))
  if heard == 0 then
    redis.call('HDEL', standingKey, taker.field)
    pushed = first - 1
    break
  end
  local deadline = now + taker.visibility
  local deadlineText = string.format('%d', deadline)
  for _, receipt in ipairs(receipts) do
    inflightArgs[#inflightArgs + 1] = deadlineText
    inflightArgs[#inflightArgs + 1] = receipt
  end
  if result[3] == 0 or deadline < result[3] then result[3] = deadline end
  local credit = taker.credit - #frames
  local pushedRecord = string.format('%d|%d', readySeqs[pushable[pushed]], taker.untilMs)
  if credit > 0 then
    redis.call('HSET', standingKey, taker.field, string.format('%d|%d%s', credit, taker.untilMs, taker.mark),
      taker.node .. '/pushed', pushedRecord)
  else
    redis.call('HDEL', standingKey, taker.field)
    redis.call('HSET', standingKey, taker.node .. '/pushed', pushedRecord)
  end
  if pushed == #pushable then break end
end
if #inflightArgs > 0 then
  redis.call('ZADD', inflightKey, unpack(inflightArgs))
  -- Covered only by a lease not yet overdue: an overdue one may have lost its mark (its node died before
  -- writing it), and this mark then heals the queue.
  local earliest = earliestLease and tonumber(earliestLease)
  if earliest and earliest > now and earliest <= result[3] then result[4] = 1 end
end

-- The groups of the heads pushed are out, as a take leaves them; what no live taker took is ready, in
-- acceptance order: a plain message in the list, a grouped one in its group.
local wasPushed, groupsOut, idsOut = {}, {}, {}
for position = 1, pushed do
  local index = pushable[position]
  wasPushed[index] = true
  if readyGroups[index] then
    groupsOut[#groupsOut + 1] = readyGroups[index]
    idsOut[#idsOut + 1] = readyIds[index]
  end
end
if #groupsOut > 0 then lanes().startOut(groupsOut, idsOut) end
local stillReady = {}
for index = 1, #readyIds do
  if not wasPushed[index] then
    local group = readyGroups[index]
    if group then
      lanes().addSent(readyIds[index], group, 0)
    else
      stillReady[#stillReady + 1] = readyIds[index]
    end
  end
end
-- Only a script that placed a grouped message built the lanes.
if lanesBuilt then lanesBuilt.addSentToGroups() end
if #stillReady > 0 then
  if redis.call('RPUSH', readyKey, unpack(stillReady)) == #stillReady then
    result[1] = 1
    redis.call(publishCommand, wakeChannel, '1')
  end
end
-- A message that joined a lane above 0, or a group that entered its rotation, may be taken now: the consumers
-- that found nothing to take are woken. One that joined a group out, or in its rotation already, is not news.
if madeTakeable and result[1] == 0 then
  result[1] = 1
  redis.call(publishCommand, wakeChannel, '1')
end
flushReadyElsewhere()
return result
