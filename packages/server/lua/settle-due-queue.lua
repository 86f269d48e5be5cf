-- After a sweep, records when a queue next has timed work. When a sender or receiver marked it since the
-- claim, their mark (or the claim's score) stands unless the sweep's own finding is sooner: a mark only
-- says when the work it added is due, not the work already there, so without it a lease due before that
-- mark would wait for the mark, or for the claim to run out (5 s late).
-- KEYS[1] due: sorted set, "<namespace>\n<queue>" -> when that queue next has timed work (ms)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped by every mark-due-queue.lua
-- ARGV[1] the queue
-- ARGV[2] its generation at the claim
-- ARGV[3] its next due time as the sweep found it (ms), or 0 when it has no timed work left
-- Returns 1 when settled, 0 when left for another sweep.
local dueKey = KEYS[1]
local generationsKey = KEYS[2]
local queue = ARGV[1]
local claimedGeneration = ARGV[2]
local nextDue = tonumber(ARGV[3])

if (redis.call('HGET', generationsKey, queue) or '0') ~= claimedGeneration then
  if nextDue > 0 then redis.call('ZADD', dueKey, 'LT', nextDue, queue) end
  return 0
end
if nextDue == 0 then
  redis.call('ZREM', dueKey, queue)
  redis.call('HDEL', generationsKey, queue)
else
  redis.call('ZADD', dueKey, nextDue, queue)
end
return 1
