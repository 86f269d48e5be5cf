-- Ends leases at once (their consumer went away): each current one goes back to the head of the queue,
-- in acceptance order, or to the dead-letter queue when its attempt was the last.
--!include queue-keys
--!include lease-end
-- ARGV[2..] receipts
-- Returns { how many leases ended, 1 when the ready list was empty before }
local requeued = {}
local ended = 0
for index = 2, #ARGV do
  local receipt = ARGV[index]
  if redis.call('ZSCORE', inflightKey, receipt) then
    ended = ended + 1
    local id, meta = endLease(receipt)
    if id then requeued[#requeued + 1] = { id, meta.seq } end
  end
end
return { ended, requeueAtHead(requeued) }
