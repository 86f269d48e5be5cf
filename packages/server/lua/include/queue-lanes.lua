-- The ready messages of a queue with groups and priorities (docs/protocol.md §11), as structures/
-- fair-lanes.ts keeps them in memory, step for step. Needs include/queue-keys.lua first. Every key is the
-- queue's own, named from its ready list's (same hash tag, so one slot):
--   ready:<p>    list: the ungrouped messages of priority p (1-9); priority 0's is KEYS[1] itself
--   group:<g>    list: the ready messages of group g in order, each "<priority digit><id>"
--   turns:<p>    list: the rotation of priority p: groups whose head has priority p and that have no message
--                out, and '' for the level's lane while it holds messages and a group is in the rotation
--   levels       sorted set: the levels that may have a lane above 0 or a rotation (score = member = p); a
--                level found empty is dropped when a take meets it
--   lane-turns   hash: p -> 1 while the rotation of p holds the lane's ''
--   out          hash: group -> the id of its message out (leased, or delayed by a nack)
--   groups       hash: group -> how many of its messages the queue holds (ready, out, delayed)
--   counters field `readyElsewhere`: how many ready messages are in lanes above 0 and in groups (each
--                script adds up its changes and writes them once: flushReadyElsewhere)
-- Invariant: a group is in a rotation exactly when it has no message out and a ready one, once, at the
-- level of its head (its head changes only while it is out). A plain queue (no level) keeps only KEYS[1]:
-- its receives take from it in bulk, as before groups.
local queueBase = string.sub(readyKey, 1, -7)
local levelsKey = queueBase .. ':levels'
local laneTurnsKey = queueBase .. ':lane-turns'
local outKey = queueBase .. ':out'
local groupsKey = queueBase .. ':groups'
local LANE = ''
-- Set once this script made a message takeable that may not have been (a group back in its rotation, a
-- message in a lane): the caller then wakes the queue's consumers, who may have found nothing to take.
local madeTakeable = false
-- This script's change to `readyElsewhere`, written once (flushReadyElsewhere).
local readyElsewhereChange = 0

local function laneKey(priority)
  if priority == 0 then return readyKey end
  return queueBase .. ':ready:' .. priority
end

local function groupKey(group)
  return queueBase .. ':group:' .. group
end

local function turnsKey(priority)
  return queueBase .. ':turns:' .. priority
end

-- Where a message waits in this queue: its group and priority, or plain order in a dead-letter queue.
local function placementOf(meta)
  if isDeadLetterQueue then return nil, 0 end
  return meta.group, meta.priority
end

-- Puts a group that has no message out, and is in no rotation, in the rotation of its head's priority.
local function enterRotation(group, head)
  local priority = string.sub(head, 1, 1)
  if redis.call('RPUSH', turnsKey(priority), group) == 1 then redis.call('ZADD', levelsKey, priority, priority) end
  madeTakeable = true
end

-- Writes this script's change to the count of ready messages outside KEYS[1]; call before returning.
local function flushReadyElsewhere()
  if readyElsewhereChange ~= 0 then redis.call('HINCRBY', countersKey, 'readyElsewhere', readyElsewhereChange) end
  readyElsewhereChange = 0
end

-- A ready message joins the tail of its group or lane (atHead: the head). Plain messages of priority 0
-- are pushed by the callers themselves, in bulk, onto KEYS[1].
local function addReady(id, group, priority, atHead)
  local push = atHead and 'LPUSH' or 'RPUSH'
  readyElsewhereChange = readyElsewhereChange + 1
  if group then
    -- A group with ready messages before is in a rotation already, or out.
    if redis.call(push, groupKey(group), priority .. id) == 1 and redis.call('HEXISTS', outKey, group) == 0 then
      enterRotation(group, priority .. id)
    end
  else
    if redis.call(push, laneKey(priority), id) == 1 then redis.call('ZADD', levelsKey, priority, priority) end
    madeTakeable = true
  end
end

-- The group's message out is settled or back in it: the group's next may go.
local function releaseGroup(group)
  if redis.call('HDEL', outKey, group) == 0 then return end
  local head = redis.call('LINDEX', groupKey(group), 0)
  if head then enterRotation(group, head) end
end

-- One message of the group left the queue for good (acked, expired, dead-lettered, purged).
local function countOutOfGroup(group)
  if redis.call('HINCRBY', groupsKey, group, -1) <= 0 then redis.call('HDEL', groupsKey, group) end
end

-- Takes the next message that may leave a queue that has levels: returns its id, group (now out) and
-- priority, or nil. A plain queue is taken from in bulk by queue-receive.lua instead.
local function takeReady()
  while true do
    local top = redis.call('ZREVRANGE', levelsKey, 0, 0)[1]
    if not top then
      local id = redis.call('LPOP', readyKey)
      return id or nil, nil, 0
    end
    local priority = tonumber(top)
    local turns, lane = turnsKey(priority), laneKey(priority)
    if redis.call('LLEN', lane) > 0 and redis.call('LLEN', turns) > 0
      and redis.call('HSETNX', laneTurnsKey, top, 1) == 1 then
      redis.call('RPUSH', turns, LANE)
    end
    local member = redis.call('LPOP', turns)
    while member do
      if member == LANE then
        redis.call('HDEL', laneTurnsKey, top)
        local id = redis.call('LPOP', lane)
        if id then
          if redis.call('LLEN', lane) > 0 then
            redis.call('RPUSH', turns, LANE)
            redis.call('HSET', laneTurnsKey, top, 1)
          end
          if priority > 0 then readyElsewhereChange = readyElsewhereChange - 1 end
          return id, nil, priority
        end
      else
        local head = redis.call('LPOP', groupKey(member))
        if head then
          local id = string.sub(head, 2)
          if redis.call('HSETNX', outKey, member, id) == 1 then
            readyElsewhereChange = readyElsewhereChange - 1
            return id, member, tonumber(string.sub(head, 1, 1))
          end
          -- A group out has no turn (the invariant above): its head stays where it was.
          redis.call('LPUSH', groupKey(member), head)
        end
      end
      member = redis.call('LPOP', turns)
    end
    -- No rotation at this level: its lane alone.
    local id = redis.call('LPOP', lane)
    if id then
      if priority > 0 then readyElsewhereChange = readyElsewhereChange - 1 end
      return id, nil, priority
    end
    redis.call('ZREM', levelsKey, top)
  end
end

-- Whether the queue has any level (else it is plain: KEYS[1] alone).
local function hasLevels()
  return redis.call('EXISTS', levelsKey) == 1
end

-- Ready messages in all: the plain lane and the rest.
local function readyCount()
  local elsewhere = tonumber(redis.call('HGET', countersKey, 'readyElsewhere') or '0') + readyElsewhereChange
  return redis.call('LLEN', readyKey) + elsewhere
end

-- Puts ended leases back at the head of their group or lane, keeping their acceptance order among
-- themselves, and frees their groups. `entries` is a list of { id, seq, group, priority } (group nil and
-- priority 0 when plain). Returns 1 when the queue's consumers should be woken (nothing was ready before,
-- or this script made a message takeable), else 0.
local function requeueAtHead(entries)
  if #entries == 0 then return madeTakeable and 1 or 0 end
  local wasEmpty = readyCount() == 0 and 1 or 0
  table.sort(entries, function(a, b) return a[2] > b[2] end)
  local plain = {}
  for _, entry in ipairs(entries) do
    local id, _, group, priority = entry[1], entry[2], entry[3], entry[4]
    if group or priority > 0 then
      addReady(id, group, priority, true)
      if group then releaseGroup(group) end
    else
      plain[#plain + 1] = id
    end
  end
  if #plain > 0 then redis.call('LPUSH', readyKey, unpack(plain)) end
  return (wasEmpty == 1 or madeTakeable) and 1 or 0
end
