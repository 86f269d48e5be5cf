-- Leases up to `max` messages from the head of a queue to one consumer. Expired messages met on the
-- way are discarded and counted, not delivered.
--!include queue-keys
-- ARGV[2] max: how many messages at most
-- ARGV[3] visibility (ms): the lease lasts this long from now (Redis time)
-- ARGV[4] receipt token: hex, unique per call; each receipt is "<token><index in hex>:<id>"
-- Returns { lease deadline (ms), how many stay ready, then six per message:
--   id, receipt, attempt, enqueuedAt, reason ('' or 'rejected' / 'maxAttempts'), body }
local max = tonumber(ARGV[2])
local visibilityMs = tonumber(ARGV[3])
local token = ARGV[4]

local now = nowMs()
local deadline = now + visibilityMs
local result = { deadline, 0 }
local ids = redis.call('LPOP', readyKey, max)
if ids then
  local metaArgs, leaseArgs, inflightArgs = {}, {}, {}
  local metas = redis.call('HMGET', metaKey, unpack(ids))
  local bodies = redis.call('HMGET', bodiesKey, unpack(ids))
  for index, id in ipairs(ids) do
    local text = metas[index]
    if text then
      local meta = decodeMeta(text)
      if meta.expiresAt > 0 and meta.expiresAt <= now then
        redis.call('HDEL', metaKey, id)
        redis.call('HDEL', bodiesKey, id)
        redis.call('HINCRBY', countersKey, 'expired', 1)
      else
        meta.attempt = meta.attempt + 1
        local receipt = token .. string.format('%x', index) .. ':' .. id
        metaArgs[#metaArgs + 1] = id
        metaArgs[#metaArgs + 1] = encodeMeta(meta)
        leaseArgs[#leaseArgs + 1] = id
        leaseArgs[#leaseArgs + 1] = receipt
        inflightArgs[#inflightArgs + 1] = deadline
        inflightArgs[#inflightArgs + 1] = id
        local n = #result
        result[n + 1] = id
        result[n + 2] = receipt
        result[n + 3] = meta.attempt
        result[n + 4] = meta.enqueuedAt
        result[n + 5] = meta.reason
        result[n + 6] = bodies[index]
      end
    end
  end
  if #metaArgs > 0 then
    redis.call('HSET', metaKey, unpack(metaArgs))
    redis.call('HSET', leasesKey, unpack(leaseArgs))
    redis.call('ZADD', inflightKey, unpack(inflightArgs))
  end
end
result[2] = redis.call('LLEN', readyKey)
return result
