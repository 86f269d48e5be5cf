-- Ends leases at once (their consumer went away): each current one goes back to the head of the queue,
-- in acceptance order, or to the dead-letter queue when its attempt was the last.
--!include queue-keys
--!include queue-lanes
--!include lease-end
-- ARGV[2..] receipts
-- Returns { how many leases ended, 1 when the ready list was empty before, how many of them went to the
--   dead-letter queue }
local requeued = {}
local ended, deadLettered = 0, 0
for index = 2, #ARGV do
  local receipt = ARGV[index]
  if redis.call('ZSCORE', inflightKey, receipt) then
    ended = ended + 1
    local id, meta, reachedDeadLetters = endLease(receipt)
    if id then requeued[#requeued + 1] = requeueEntry(id, meta) end
    deadLettered = deadLettered + reachedDeadLetters
  end
end
local wake = requeueAtHead(requeued)
flushReadyElsewhere()
return { ended, wake, deadLettered }
