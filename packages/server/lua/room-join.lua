-- Adds a socket to a room's cluster-wide membership (idempotent).
-- KEYS[1] members: hash, "<node id>/<socket id>" -> the socket's user ('' when none)
-- KEYS[2] counts: hash, node id -> how many of the room's members that node holds
-- ARGV[1] node id
-- ARGV[2] socket id
-- ARGV[3] user ('' when none)
-- Returns 1 when the socket was added, 0 when it was already a member.
local membersKey = KEYS[1]
local countsKey = KEYS[2]
local nodeId = ARGV[1]
local socketId = ARGV[2]
local user = ARGV[3]

local added = redis.call('HSETNX', membersKey, nodeId .. '/' .. socketId, user)
if added == 1 then
  redis.call('HINCRBY', countsKey, nodeId, 1)
end
return added
