-- Acknowledges deliveries: each message whose current lease has this receipt is deleted; a grouped
-- message's group (named by its receipt) lets its next message go.
--!include queue-keys
--!include queue-lanes
-- ARGV[2..] receipts
-- Returns { how many were acked, 1 when a group's next message became takeable (the caller wakes the
--   queue's consumers), then the 1-based positions of the stale receipts }
local result = { 0, 0 }
if #ARGV < 2 then return result end
-- A receipt is current exactly when inflight holds it (a repeat in the same call is stale). Usually all are:
-- the receipts go into a set of this call's own, and when inflight holds as many of them as the set does,
-- every one is current. Only otherwise does ZMSCORE say which: it formats each deadline with
-- sprintf("%.17g"), which cost Redis 3,600 instructions per receipt, a sixth of a plain ack (BENCHMARKS.md,
-- "Acks counted without formatting deadlines"). The set lives only inside this call (deleted first, should
-- an earlier call have failed between its two writes, and last) and is neither replicated nor written to
-- the AOF.
local probeKey = queueBase .. ':ack-probe'
redis.set_repl(redis.REPL_NONE)
redis.call('DEL', probeKey)
local unique = redis.call('SADD', probeKey, unpack(ARGV, 2))
local allCurrent = redis.call('ZINTERCARD', 2, inflightKey, probeKey) == unique
redis.call('DEL', probeKey)
redis.set_repl(redis.REPL_ALL)
local deadlines = allCurrent and {} or redis.call('ZMSCORE', inflightKey, unpack(ARGV, 2))
local receipts, ids, seen, groups = {}, {}, {}, {}
for index = 2, #ARGV do
  local receipt = ARGV[index]
  if (allCurrent or deadlines[index - 1]) and not seen[receipt] then
    seen[receipt] = true
    receipts[#receipts + 1] = receipt
    local id, group = receiptParts(receipt)
    ids[#ids + 1] = id
    if group then groups[#groups + 1] = group end
  else
    result[#result + 1] = index - 1
  end
end
if #ids > 0 then
  redis.call('ZREM', inflightKey, unpack(receipts))
  redis.call('HDEL', messagesKey, unpack(ids))
  redis.call('HINCRBY', countersKey, 'acked', #ids)
  if #groups > 0 then lanes().releaseGroups(groups) end
end
result[1] = #ids
result[2] = madeTakeable and 1 or 0
return result
