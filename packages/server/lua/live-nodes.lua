-- Lists the nodes whose last heartbeat is recent enough, by Redis's clock.
-- KEYS[1] nodes: sorted set, node id -> time of its last heartbeat (ms since the epoch)
-- ARGV[1] node timeout (ms): a heartbeat older than this means the node is dead
-- Returns the ids of the live nodes.
local nodesKey = KEYS[1]
local timeoutMs = tonumber(ARGV[1])

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return redis.call('ZRANGEBYSCORE', nodesKey, nowMs - timeoutMs, '+inf')
