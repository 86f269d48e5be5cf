-- Removes every member that a dead node held in one room.
-- KEYS[1] members: hash, "<node id>/<socket id>" -> the socket's user ('' when none)
-- KEYS[2] counts: hash, node id -> how many of the room's members that node holds
-- ARGV[1] the dead node's id (hex: no glob characters)
-- Returns how many members were removed.
local membersKey = KEYS[1]
local countsKey = KEYS[2]
local nodeId = ARGV[1]

redis.call('HDEL', countsKey, nodeId)
local removed = 0
local cursor = '0'
repeat
  local page = redis.call('HSCAN', membersKey, cursor, 'MATCH', nodeId .. '/*', 'COUNT', 500)
  cursor = page[1]
  local entries = page[2]
  for index = 1, #entries, 2 do
    removed = removed + redis.call('HDEL', membersKey, entries[index])
  end
until cursor == '0'
return removed
