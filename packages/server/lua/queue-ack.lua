-- Acknowledges deliveries: each message whose current lease matches its receipt is deleted.
--!include queue-keys
-- ARGV[2..] receipts
-- Returns { how many were acked, then the 1-based positions of the stale receipts }
local result = { 0 }
local ids = {}
for index = 2, #ARGV do
  local receipt = ARGV[index]
  local id = receiptId(receipt)
  if id and redis.call('HGET', leasesKey, id) == receipt then
    ids[#ids + 1] = id
    redis.call('HDEL', leasesKey, id)
  else
    result[#result + 1] = index - 1
  end
end
if #ids > 0 then
  redis.call('ZREM', inflightKey, unpack(ids))
  redis.call('HDEL', metaKey, unpack(ids))
  redis.call('HDEL', bodiesKey, unpack(ids))
end
result[1] = #ids
return result
