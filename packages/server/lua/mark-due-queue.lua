-- Records that a queue has timed work (a lease deadline or a delay) at `due`, if that is sooner than
-- what the index holds, and bumps its generation so a sweep in progress does not settle over it.
-- KEYS[1] due: sorted set, "<namespace>\n<queue>" -> when that queue next has timed work (ms)
-- KEYS[2] generations: hash, "<namespace>\n<queue>" -> bumped at each mark
-- ARGV[1] the queue
-- ARGV[2] due (ms since the epoch, Redis time)
-- Returns 1.
local dueKey = KEYS[1]
local generationsKey = KEYS[2]
redis.call('ZADD', dueKey, 'LT', ARGV[2], ARGV[1])
redis.call('HINCRBY', generationsKey, ARGV[1], 1)
return 1
