-- Records that a node is alive, stamped with Redis's clock (never a node's clock).
-- KEYS[1] nodes: sorted set, node id -> time of its last heartbeat (ms since the epoch, Redis time)
-- KEYS[2] node info: hash with the node's id, url, startedAt, connections, lastSeenAt, layout, namespaces,
--   draining, eventLoopLagMs
-- ARGV[1] node id
-- ARGV[2] node url
-- ARGV[3] startedAt: when the node started (ms since the epoch)
-- ARGV[4] connections: how many Socket.IO connections the node holds
-- ARGV[5] info TTL (ms): how long the info hash outlives the last heartbeat
-- ARGV[6] the layout of Mailroom's data the node reads and writes (layout.ts; absent: a node of layout 2)
-- ARGV[7] its connected sockets per namespace, as JSON ({"/": 12, "/orders": 3})
-- ARGV[8] '1' while it drains, else '0'; ARGV[9] its event-loop delay (ms)
-- Returns 1 when the node was not listed (its first heartbeat, or it had been reaped as dead), else 0.
local nodesKey = KEYS[1]
local infoKey = KEYS[2]
local nodeId = ARGV[1]
local url = ARGV[2]
local startedAt = ARGV[3]
local connections = ARGV[4]
local infoTtlMs = tonumber(ARGV[5])
local layout = ARGV[6]
local namespaces = ARGV[7]
local draining, eventLoopLagMs = ARGV[8], ARGV[9]

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local added = redis.call('ZADD', nodesKey, nowMs, nodeId)
redis.call('HSET', infoKey, 'id', nodeId, 'url', url, 'startedAt', startedAt,
  'connections', connections, 'lastSeenAt', nowMs, 'layout', layout, 'namespaces', namespaces,
  'draining', draining, 'eventLoopLagMs', eventLoopLagMs)
redis.call('PEXPIRE', infoKey, infoTtlMs)
return added
