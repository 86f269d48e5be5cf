-- Removes a socket from a room's cluster-wide membership (idempotent).
-- KEYS[1] members: hash, "<node id>/<socket id>" -> the socket's user ('' when none)
-- KEYS[2] counts: hash, node id -> how many of the room's members that node holds
-- ARGV[1] node id
-- ARGV[2] socket id
-- Returns 1 when the socket was removed, 0 when it was not a member.
local membersKey = KEYS[1]
local countsKey = KEYS[2]
local nodeId = ARGV[1]
local socketId = ARGV[2]

local removed = redis.call('HDEL', membersKey, nodeId .. '/' .. socketId)
if removed == 1 then
  if redis.call('HINCRBY', countsKey, nodeId, -1) <= 0 then
    redis.call('HDEL', countsKey, nodeId)
  end
end
return removed
