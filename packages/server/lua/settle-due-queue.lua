-- After a sweep, records when a queue next has timed work. When a sender or receiver marked it since the
-- claim, their mark (or the claim's score) stands unless the sweep's own finding is sooner: a mark only
-- says when the work it added is due, not the work already there, so without it a lease due before that
-- mark would wait for the mark, or for the claim to run out (5 s late). The namespace's entry in the
-- first level is set again to its earliest queue.
-- KEYS[1] namespaces: sorted set, namespace -> the earliest due time of its queues (ms)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped by every mark-due-queue.lua
-- KEYS[3] the namespace's queues: sorted set, "<namespace>\n<queue>" -> when that queue next has timed work
-- ARGV[1] the queue, as "<namespace>\n<queue>"
-- ARGV[2] its generation at the claim
-- ARGV[3] its next due time as the sweep found it (ms), or 0 when it has no timed work left
-- ARGV[4] the namespace
-- Returns 1 when settled, 0 when left for another sweep.
--!include due-index
local namespacesKey, generationsKey, queuesKey = KEYS[1], KEYS[2], KEYS[3]
local queue = ARGV[1]
local claimedGeneration = ARGV[2]
local nextDue = tonumber(ARGV[3])
local namespace = ARGV[4]

local settled = 1
if (redis.call('HGET', generationsKey, queue) or '0') ~= claimedGeneration then
  if nextDue > 0 then redis.call('ZADD', queuesKey, 'LT', nextDue, queue) end
  settled = 0
elseif nextDue == 0 then
  redis.call('ZREM', queuesKey, queue)
  redis.call('HDEL', generationsKey, queue)
else
  redis.call('ZADD', queuesKey, nextDue, queue)
end
resetNamespaceDue(namespacesKey, queuesKey, namespace)
return settled
