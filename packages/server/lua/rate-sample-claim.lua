-- Claims the current slot's sample of the dashboard's rates for the caller (engines/rate-samples.ts): the
-- first caller in a slot gets it, every other caller in the same slot gets nothing, so the cluster takes
-- one sample per slot however many nodes ask. Slots are cut from Redis's clock, never a node's.
-- KEYS[1] claim: string, the start of the last slot claimed (ms since the epoch, Redis time)
-- ARGV[1] the sample interval (ms): slot k is [k * interval, (k + 1) * interval)
-- ARGV[2] how long the claim is remembered (ms): the samples' lifetime
-- Returns { slot start (ms), now (ms) } when the caller claimed the slot; an empty array when another did.
local claimKey = KEYS[1]
local intervalMs = tonumber(ARGV[1])
local keepMs = tonumber(ARGV[2])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local slotStart = now - (now % intervalMs)
local claimed = tonumber(redis.call('GET', claimKey) or '-1')
if claimed >= slotStart then return {} end
redis.call('SET', claimKey, slotStart, 'PX', keepMs)
return { slotStart, now }
