-- Claims the nodes whose heartbeat is too old, so that exactly one live node cleans up after each.
-- KEYS[1] nodes: sorted set, node id -> time of its last heartbeat (ms since the epoch)
-- ARGV[1] node timeout (ms): a heartbeat older than this means the node is dead
-- ARGV[2] the calling node's id: never claimed, even when its own heartbeat is old (it is alive, and its
--   next heartbeat lists it again; a failover can hand over a copy of the set from before its last beats)
-- Returns the ids of the dead nodes, now removed from KEYS[1]; the caller removes what they held.
local nodesKey = KEYS[1]
local timeoutMs = tonumber(ARGV[1])
local callerId = ARGV[2]

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dead = {}
for _, nodeId in ipairs(redis.call('ZRANGEBYSCORE', nodesKey, '-inf', '(' .. (nowMs - timeoutMs))) do
  if nodeId ~= callerId then
    redis.call('ZREM', nodesKey, nodeId)
    dead[#dead + 1] = nodeId
  end
end
return dead
