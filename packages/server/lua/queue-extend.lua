-- Extends one delivery's lease to `visibility` from now (Redis time).
--!include queue-keys
-- ARGV[2] receipt
-- ARGV[3] visibility (ms)
-- Returns the new deadline (ms), or 0 when the receipt is not current.
local receipt = ARGV[2]
local visibilityMs = tonumber(ARGV[3])

if not redis.call('ZSCORE', inflightKey, receipt) then return 0 end
local deadline = nowMs() + visibilityMs
redis.call('ZADD', inflightKey, 'XX', deadline, receipt)
return deadline
