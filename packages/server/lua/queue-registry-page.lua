-- Reads one page of a namespace's queue registry, in name order, with each queue's last send.
-- KEYS[1] names, KEYS[2] sent: as in queue-register.lua
-- ARGV[1] the name the page starts after ('' for the first page)
-- ARGV[2] at most this many names
-- Returns { now (ms since the epoch, Redis time), then per queue: its name, its last send (ms; 0 = none
--   recorded) }
local namesKey, sentKey = KEYS[1], KEYS[2]
local after = ARGV[1]
local limit = tonumber(ARGV[2])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local from = after == '' and '-' or '(' .. after
local names = redis.call('ZRANGEBYLEX', namesKey, from, '+', 'LIMIT', 0, limit)
local result = { now }
if #names == 0 then return result end
local sent = redis.call('HMGET', sentKey, unpack(names))
for index, name in ipairs(names) do
  result[#result + 1] = name
  result[#result + 1] = tonumber(sent[index] or '0')
end
return result
