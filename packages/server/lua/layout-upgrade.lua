-- Moves the layout of Mailroom's data to a newer version once every live node reads it (layout.ts): a
-- rolling upgrade is over when no node of the older layout heartbeats any more.
-- KEYS[1] nodes: sorted set, node id -> its last heartbeat (ms, Redis time)
-- KEYS[2] layout: string, the version of the data's layout
-- ARGV[1] node timeout (ms): a node silent this long is not live
-- ARGV[2] the version to move to
-- ARGV[3] what a node's info key puts before its id (keys.ts: nodeInfo); its `layout` field says which
--   layout it reads (absent: 2, the last layout before nodes said so)
-- Returns the layout's version after the call.
local nodesKey, layoutKey = KEYS[1], KEYS[2]
local timeoutMs, target, infoPrefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]

local current = tonumber(redis.call('GET', layoutKey) or '0')
if current >= target then return current end
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for _, nodeId in ipairs(redis.call('ZRANGEBYSCORE', nodesKey, nowMs - timeoutMs, '+inf')) do
  local layout = tonumber(redis.call('HGET', infoPrefix .. nodeId, 'layout') or '2')
  if layout < target then return current end
end
redis.call('SET', layoutKey, target)
return target
