-- Gives back leases that the node could not hand to a consumer (they had gone, or had no room left):
-- each current one goes back to the head of the queue, in acceptance order, with no attempt counted (no
-- consumer saw it). The node's standing credit for that visibility is withdrawn: its consumers pull.
--!include queue-keys
--!include queue-lanes
--!include lease-end
-- ARGV[2] the standing field to withdraw ("<node id>/<visibility ms>"; empty: none), with the node's record
--   of the last seq pushed to it (queue-send.lua): the node heard that push, as it gives it back
-- ARGV[3..] receipts
-- Returns { how many leases ended, 1 when the ready list was empty before }
if ARGV[2] ~= '' then
  local node = string.match(ARGV[2], '^(.+)/%d+$')
  redis.call('HDEL', standingKey, ARGV[2], node and node .. '/pushed' or ARGV[2])
end
local requeued = {}
for index = 3, #ARGV do
  local receipt = ARGV[index]
  if redis.call('ZREM', inflightKey, receipt) == 1 then
    local id, group = receiptParts(receipt)
    local text = redis.call('HGET', messagesKey, id)
    if text then
      requeued[#requeued + 1] = requeueEntry(id, (decodeMessage(text)))
    elseif group then
      lanes().releaseGroup(group)
    end
  end
end
local wake = requeueAtHead(requeued)
flushReadyElsewhere()
return { #requeued, wake }
