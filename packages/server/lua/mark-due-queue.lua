-- Records that a queue has timed work (a lease deadline or a delay) at `due`, if that is sooner than
-- what the index holds, and bumps its generation so a sweep in progress does not settle over it.
-- The due index has two levels, so that no namespace's timed work waits behind another's (claim-due-queues.lua):
-- KEYS[1] namespaces: sorted set, namespace -> the earliest due time of its queues (ms, Redis time)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped at each mark
-- KEYS[3] the namespace's queues: sorted set, "<namespace>\n<queue>" -> when that queue next has timed work (ms)
-- ARGV[1] the queue, as "<namespace>\n<queue>"
-- ARGV[2] due (ms since the epoch, Redis time): a real deadline, never "now" for a look (see sweepNow)
-- ARGV[3] the namespace
-- Returns 1.
local namespacesKey, generationsKey, queuesKey = KEYS[1], KEYS[2], KEYS[3]
local queue, due, namespace = ARGV[1], ARGV[2], ARGV[3]
redis.call('ZADD', queuesKey, 'LT', due, queue)
redis.call('ZADD', namespacesKey, 'LT', due, namespace)
if redis.call('HINCRBY', generationsKey, queue, 1) == 1 then
  -- A new field (a settle deletes it when the queue has no timed work left) starts from Redis's clock in
  -- µs, not from 1: a sweep that claimed at an earlier "1" and stalled past its claim must not find its
  -- generation again and settle its stale finding over this mark.
  local time = redis.call('TIME')
  redis.call('HSET', generationsKey, queue, time[1] .. string.format('%06d', tonumber(time[2])))
end
return 1
