-- The ready messages of a queue with groups and priorities (docs/protocol.md §11), as structures/
-- fair-lanes.ts keeps them in memory: the same structure, and the same order of takes (a receive here takes
-- a pass of a rotation at a time where fair-lanes.ts takes one message at a time; test/lanes-differential
-- holds the two to the same answers). Needs include/queue-keys.lua first. Every key is the queue's own,
-- named from its ready list's (same hash tag, so one slot):
--   ready:<p>    list: the ungrouped messages of priority p (1-9); priority 0's is KEYS[1] itself
--   group:<g>    list: the ready messages of group g in order, each "<priority digit><id>"
--   turns:<p>    list: the rotation of priority p: groups whose head has priority p and that have no message
--                out, and '' for the level's lane while it holds messages and a group is in the rotation
--   levels       sorted set: the levels that may have a lane above 0 or a rotation (score = member = p); a
--                level found empty is dropped when a take meets it
--   lane-turns   hash: p -> 1 while the rotation of p holds the lane's ''
--   out          hash: group -> the id of its message out (leased, or delayed by a nack); and FILLER
--   groups       hash: group -> '1' while the queue holds a message of it (ready, out or delayed): written
--                when a group starts and when it ends, not per message (its ready list and `out` say
--                the rest); and FILLER
--   group-delays hash: group -> how many of its messages wait out the delay they were sent with (neither
--                ready nor out: the one thing that keeps a group without a ready list or a message out)
--   group-priorities  string: '1' once a message with a priority above 0 joined a group, until the queue
--                has no group left (`groups` is deleted). While it is absent every group's head has
--                priority 0, so an ack frees its groups into turns:0 without reading their heads
--                (releaseGroups). A node of an earlier release neither writes nor reads it: a grouped
--                message with a priority that such a node sent may have its group put in turns:0, and a
--                take that meets it there moves the group to the rotation of its head (takeMembers).
--   counters field `readyElsewhere`: how many ready messages are in lanes above 0 and in groups (each
--                script adds up its changes and writes them once: flushReadyElsewhere)
-- Invariant: a group is in a rotation exactly when it has no message out and a ready one, once, at the
-- level of its head (its head changes only while it is out). A plain queue (no level) keeps only KEYS[1]:
-- its receives take from it in bulk, as before groups.
local queueBase = string.sub(readyKey, 1, -7)
local levelsKey = queueBase .. ':levels'
-- group-delays (above): named here too, so that queue-sweep.lua can look at it without building lanes().
local groupDelaysKey = queueBase .. ':group-delays'
local LANE = ''
-- Set once this script made a message takeable that may not have been (a group back in a rotation that
-- held fewer than two members, a message in a lane that was empty or above 0): the caller then wakes the
-- queue's consumers, who may have found nothing to take (rotationGrew, pushPlain).
local madeTakeable = false
-- This script's change to `readyElsewhere`, written once (flushReadyElsewhere).
local readyElsewhereChange = 0

-- The levels of `levels`, highest first, as this script last read them (nil: not read). Every ZADD and
-- ZREM of this script goes through here too, so the copy stays exact.
local knownLevels = nil

-- Where a message waits in this queue: its group and priority, or plain order in a dead-letter queue.
local function placementOf(meta)
  if isDeadLetterQueue then return nil, 0 end
  return meta.group, meta.priority
end

-- Writes this script's change to the count of ready messages outside KEYS[1]; call before returning.
local function flushReadyElsewhere()
  if readyElsewhereChange ~= 0 then redis.call('HINCRBY', countersKey, 'readyElsewhere', readyElsewhereChange) end
  readyElsewhereChange = 0
end

-- The queue's levels, highest first, read once per script unless a level starts.
local function levels()
  if not knownLevels then knownLevels = redis.call('ZREVRANGE', levelsKey, 0, -1) end
  return knownLevels
end

-- Whether the queue has any level (else it is plain: KEYS[1] alone).
local function hasLevels()
  return #levels() > 0
end

-- Ready messages in all: the plain lane and the rest.
local function readyCount()
  local elsewhere = tonumber(redis.call('HGET', countersKey, 'readyElsewhere') or '0') + readyElsewhereChange
  return redis.call('LLEN', readyKey) + elsewhere
end

-- The groups' and lanes' machinery, built the first time a script needs it: a plain queue's scripts never
-- do, and building it (some 20 closures) costs Redis more than a plain ack's own work. Its state (the
-- batch taken, the groups a send started) lives in it for the rest of the script.
local lanesBuilt = nil
local function lanes()
  if lanesBuilt then return lanesBuilt end
  -- Called per grouped message: as locals, not looked up in `string` each time.
  local byte, sub = string.byte, string.sub
  local laneTurnsKey = queueBase .. ':lane-turns'
  local outKey = queueBase .. ':out'
  local groupsKey = queueBase .. ':groups'
  local groupPrioritiesKey = queueBase .. ':group-priorities'
  -- FILLER: the field '' (no group is named so) with a value longer than Redis's default
  -- hash-max-listpack-value (64 bytes), written with every write of `out` and `groups`: each is then a hash
  -- table from its first write on (Redis keeps a small hash as a listpack, whose every lookup is a scan).
  -- Takes, acks and sends set, read and delete their fields by the hundred, which in a listpack cost a scan
  -- each; as the receipts keep the inflight set a skiplist (redis-queue-engine.ts: RECEIPT_TOKEN_BYTES). A
  -- hash left with the filler alone is deleted (dropIfFillerAlone), as Redis deletes an empty one. Readers
  -- of `groups` leave the filler out.
  local FILLER_FIELD = ''
  local FILLER = string.rep('-', 65)

  -- Deletes the hash `key` (out or groups) once it holds nothing but FILLER. A queue left with no group
  -- has no grouped message with a priority either.
  local function dropIfFillerAlone(key)
    if redis.call('HLEN', key) == 1 and redis.call('HEXISTS', key, FILLER_FIELD) == 1 then
      if key == groupsKey then
        redis.call('DEL', key, groupPrioritiesKey)
      else
        redis.call('DEL', key)
      end
    end
  end

  -- Whether this script wrote `group-priorities` already.
  local groupPrioritiesNoted = false

  -- A message with this priority joins a group: above 0, the queue's groups may have heads above 0.
  local function noteGroupPriority(priority)
    if priority > 0 and not groupPrioritiesNoted then
      redis.call('SET', groupPrioritiesKey, '1')
      groupPrioritiesNoted = true
    end
  end

  local function addLevel(priority)
    redis.call('ZADD', levelsKey, priority, priority)
    knownLevels = nil
  end

  local function laneKey(priority)
    if priority == 0 then return readyKey end
    return queueBase .. ':ready:' .. priority
  end

  -- Group keys are made inline on the paths that run per message (a function call per key costs Redis more
  -- than the concatenation): groupPrefix .. group.
  local groupPrefix = queueBase .. ':group:'
  local function groupKey(group)
    return groupPrefix .. group
  end

  local function turnsKey(priority)
    return queueBase .. ':turns:' .. priority
  end

  -- The rotation of `priority` is `length` long after `pushed` groups joined it: the level is added when
  -- the rotation starts. The consumers are woken (madeTakeable) only when it held fewer than two members
  -- before. One of two or more held a group (the lane's '' is there once at most), and a group in a
  -- rotation has a head that may be taken (the invariant above): the queue had something to take already,
  -- and whatever made it so woke the consumers that had found nothing. So under a backlog (a long
  -- rotation) an ack that frees groups wakes no one; a wake-up costs Redis a PUBLISH, and every node with
  -- room a pull. (A node that dies between an ack's script and its PUBLISH leaves the consumers that wait
  -- to their feeds' 10 s recheck: consumer-dispatcher.ts.)
  local function rotationGrew(priority, length, pushed)
    if length == pushed then addLevel(priority) end
    if length - pushed < 2 then madeTakeable = true end
  end

  -- Puts a group that has no message out, and is in no rotation, in the rotation of its head's priority.
  local function enterRotation(group, head)
    local priority = sub(head, 1, 1)
    rotationGrew(priority, redis.call('RPUSH', turnsKey(priority), group), 1)
  end

  -- A ready message joins the tail of its group or lane (atHead: the head). Plain messages of priority 0
  -- are pushed by the callers themselves, in bulk, onto KEYS[1].
  local function addReady(id, group, priority, atHead)
    local push = atHead and 'LPUSH' or 'RPUSH'
    readyElsewhereChange = readyElsewhereChange + 1
    if group then
      noteGroupPriority(priority)
      -- A group with ready messages before is in a rotation already, or out.
      local item = DIGIT_TEXT[priority] .. id
      if redis.call(push, groupKey(group), item) == 1 and redis.call('HEXISTS', outKey, group) == 0 then
        enterRotation(group, item)
        -- It may start here (a group out, or with a delayed message, has started already).
        redis.call('HSET', groupsKey, group, '1', FILLER_FIELD, FILLER)
      end
    else
      if redis.call(push, laneKey(priority), id) == 1 then addLevel(priority) end
      madeTakeable = true
    end
  end

  -- A group with no ready message and none out: it ends, unless a message of it waits out a delay.
  -- Groups that hold no message any more (none ready, out or delayed) end.
  local function endGroups(ended)
    if #ended == 0 then return end
    redis.call('HDEL', groupsKey, unpack(ended))
    dropIfFillerAlone(groupsKey)
  end

  local function groupMayEnd(group)
    if redis.call('HEXISTS', groupDelaysKey, group) == 1 then return end
    endGroups({ group })
  end

  -- A group with none out: its head enters its rotation, or, with no message ready, the group may end.
  local function nextOrEnd(group)
    local head = redis.call('LINDEX', groupKey(group), '0')
    if head then
      enterRotation(group, head)
    else
      groupMayEnd(group)
    end
  end

  -- The group's message out is settled (acked, dead-lettered, gone) or back in it: the group's next may go,
  -- or the group ends.
  local function releaseGroup(group)
    if redis.call('HDEL', outKey, group) == 0 then return end
    dropIfFillerAlone(outKey)
    nextOrEnd(group)
  end

  -- enterRotation for many groups at once (none out, none in a rotation), `heads` their heads: one push
  -- per rotation, in the order of `groups`.
  local function enterRotations(groups, heads)
    local entering, priorities = {}, {}
    for index, group in ipairs(groups) do
      local priority = string.sub(heads[index], 1, 1)
      local members = entering[priority]
      if not members then
        members = {}
        entering[priority] = members
        priorities[#priorities + 1] = priority
      end
      members[#members + 1] = group
    end
    for _, priority in ipairs(priorities) do
      local members = entering[priority]
      rotationGrew(priority, redis.call('RPUSH', turnsKey(priority), unpack(members)), #members)
    end
  end

  -- releaseGroup for many groups at once (an ack's): `groups` are out (a current receipt names its group's
  -- message out), each once (one named twice would enter its rotation twice, and takes drop the repeat:
  -- takeMembers). One delete of `out`, one look at whether their lists hold messages, one push
  -- per rotation in the order of `groups`, and one look at the delays of the groups that may end. A
  -- group's next message enters the rotation of its priority, so each list's head is read; unless every
  -- freed group has a list and no group holds a message above priority 0 (group-priorities): then all
  -- enter turns:0 unread, as under a backlog at saturation. At everyday rates no freed group has a list
  -- (its message went out as it came), and none is read either.
  local function releaseGroups(groups)
    local count = #groups
    if count == 0 then return end
    redis.call('HDEL', outKey, unpack(groups))
    dropIfFillerAlone(outKey)
    local listKeys = {}
    for index = 1, count do listKeys[index] = groupPrefix .. groups[index] end
    local withLists = redis.call('EXISTS', unpack(listKeys))
    if withLists == count and redis.call('EXISTS', groupPrioritiesKey) == 0 then
      -- Every head has priority 0: all enter turns:0 as they are.
      rotationGrew('0', redis.call('RPUSH', turnsKey('0'), unpack(groups)), count)
      return
    end
    local entering, heads, ending = {}, {}, {}
    for index, group in ipairs(groups) do
      local head = withLists > 0 and redis.call('LINDEX', listKeys[index], '0')
      if head then
        entering[#entering + 1] = group
        heads[#heads + 1] = head
      else
        ending[#ending + 1] = group
      end
    end
    enterRotations(entering, heads)
    if #ending > 0 then
      local delays = redis.call('HMGET', groupDelaysKey, unpack(ending))
      local ended = {}
      for index, group in ipairs(ending) do
        if not delays[index] then ended[#ended + 1] = group end
      end
      endGroups(ended)
    end
  end

  -- The groups that sent messages started (their ready lists were empty), with those messages' items.
  local startedGroups, startedItems = {}, {}

  -- A sent message that may go now joins the tail of its group or lane, as addReady; a group it starts is
  -- looked at with the batch's others by addSentToGroups.
  local function addSent(id, group, priority)
    if not group then return addReady(id, group, priority, false) end
    readyElsewhereChange = readyElsewhereChange + 1
    if priority > 0 then noteGroupPriority(priority) end
    local item = DIGIT_TEXT[priority] .. id
    if redis.call('RPUSH', groupPrefix .. group, item) == 1 then
      startedGroups[#startedGroups + 1] = group
      startedItems[#startedItems + 1] = item
    end
  end

  -- The groups that addSent started since the last call: those with no message out enter their rotations
  -- and start (one read of out, one push per rotation, one write of groups); the others are out, and so have
  -- started already. Call before anything else reads the rotations.
  local function addSentToGroups()
    if #startedGroups == 0 then return end
    local outs = redis.call('HMGET', outKey, unpack(startedGroups))
    local entering, heads, present = {}, {}, { FILLER_FIELD, FILLER }
    for index, group in ipairs(startedGroups) do
      if not outs[index] then
        entering[#entering + 1] = group
        heads[#heads + 1] = startedItems[index]
        present[#present + 1] = group
        present[#present + 1] = '1'
      end
    end
    startedGroups, startedItems = {}, {}
    if #entering == 0 then return end
    enterRotations(entering, heads)
    redis.call('HSET', groupsKey, unpack(present))
  end

  -- Of `groups` (distinct), those idle: none out and no ready message, so a message sent to one may go
  -- out at once as its head (queue-send.lua: push). The invariant says a group with none out has no list
  -- when the queue holds nothing takeable; one EXISTS makes sure, and any list found answers none.
  local function idleGroups(groups)
    local idle = {}
    if #groups == 0 then return idle end
    local outs = redis.call('HMGET', outKey, unpack(groups))
    local lists = {}
    for index, group in ipairs(groups) do
      idle[group] = not outs[index]
      lists[index] = groupKey(group)
    end
    if redis.call('EXISTS', unpack(lists)) > 0 then return {} end
    return idle
  end

  -- Idle groups whose heads `ids` went out without a take (pushed): they start, with that message out.
  local function startOut(groups, ids)
    if #groups == 0 then return end
    local outFields, present = { FILLER_FIELD, FILLER }, { FILLER_FIELD, FILLER }
    for index, group in ipairs(groups) do
      outFields[#outFields + 1] = group
      outFields[#outFields + 1] = ids[index]
      present[#present + 1] = group
      present[#present + 1] = '1'
    end
    redis.call('HSET', outKey, unpack(outFields))
    redis.call('HSET', groupsKey, unpack(present))
  end

  -- A message of the group is sent with a delay: the group has started, and waits for it.
  local function delayInGroup(group)
    redis.call('HINCRBY', groupDelaysKey, group, '1')
    redis.call('HSET', groupsKey, group, '1', FILLER_FIELD, FILLER)
  end

  -- A message of the group that was sent with a delay is due (it joins the group's ready list next).
  local function delayEndsInGroup(group)
    if redis.call('HINCRBY', groupDelaysKey, group, '-1') <= 0 then redis.call('HDEL', groupDelaysKey, group) end
  end

  -- The queue holds no delayed message any more, so `group-delays` should be empty. What is left was left
  -- by a node of the first release with groups (it counted delays in `groups` and made such a message
  -- ready without counting it out here): it goes, and a group it kept from ending (no message ready or
  -- out) ends now.
  local function forgetStaleDelays()
    local stale = redis.call('HKEYS', groupDelaysKey)
    if #stale == 0 then return end
    redis.call('DEL', groupDelaysKey)
    local ended = {}
    for _, group in ipairs(stale) do
      if redis.call('HEXISTS', outKey, group) == 0 and redis.call('EXISTS', groupKey(group)) == 0 then
        ended[#ended + 1] = group
      end
    end
    endGroups(ended)
  end

  -- The batch takeBatch took last, entry by entry, for settleTaken: its id, its group (false when none), its
  -- group's item "<p><id>" (false when none), and the rotation member popped for it (its group, or LANE for
  -- the first message of a lane's turn; false when none was). One batch comes from one level: the rotation
  -- and the lane (or KEYS[1]) it popped from, and that level.
  local takenIds, takenGroups, takenItems, takenMembers = {}, {}, {}, {}
  local takenTurns, takenLane, takenLevel = nil, readyKey, 0

  local function addTaken(id, group, item, member)
    local index = #takenIds + 1
    takenIds[index], takenGroups[index], takenItems[index], takenMembers[index] = id, group, item, member
  end

  -- Takes the members popped from a rotation of level `top` in their order: a group's head, or one message
  -- of the lane. When the lane is the last member and the rotation is left empty, the lane's next turns
  -- (each alone in the rotation) are taken here too, up to `max` in all. A group whose head has another
  -- priority than `top` (only a node of an earlier release leaves one so: see group-priorities) is not
  -- taken here: it moves to the rotation of its head.
  local function takeMembers(members, max, top)
    local topByte, memberCount = byte(top), #members
    -- A group out has no turn (the invariant above): such an entry, or a repeat, is dropped as it stands.
    -- (The lane's member, '', reads FILLER here, and is not a group.)
    local outs = redis.call('HMGET', outKey, unpack(members))
    local seen, taken = {}, #takenIds
    for position = 1, memberCount do
      local member = members[position]
      if member == LANE then
        local count = 1
        if position == memberCount and memberCount < max then count = max - taken end
        local ids = redis.call('LPOP', takenLane, count)
        if ids then
          for index, id in ipairs(ids) do
            taken = taken + 1
            takenIds[taken], takenGroups[taken], takenItems[taken] = id, false, false
            takenMembers[taken] = index == 1 and LANE
          end
        else
          redis.call('HDEL', laneTurnsKey, top)
        end
      else
        if not outs[position] and not seen[member] then
          seen[member] = true
          local key = groupPrefix .. member
          local item = redis.call('LPOP', key)
          if item and byte(item) ~= topByte then
            redis.call('LPUSH', key, item)
            enterRotation(member, item)
          elseif item then
            taken = taken + 1
            takenIds[taken], takenGroups[taken], takenItems[taken] = sub(item, 2), member, item
            takenMembers[taken] = member
          end
        end
      end
    end
  end

  -- Takes up to `max` messages of a queue that has levels, in the order one take after another would: by
  -- priority, and in turns across the groups and the lane of a level (one pass of its rotation). Returns the
  -- ids taken and their groups (false when none); nothing when nothing may go now. Only pops: the caller
  -- keeps the first of them and gives back the rest with settleTaken, before any other change to the
  -- queue. A plain queue is taken from in bulk by queue-receive.lua instead.
  local function takeBatch(max)
    takenIds, takenGroups, takenItems, takenMembers = {}, {}, {}, {}
    while true do
      local top = levels()[1]
      if not top then
        takenTurns, takenLane, takenLevel = nil, readyKey, 0
        for _, id in ipairs(redis.call('LPOP', readyKey, max) or {}) do addTaken(id, false, false, false) end
        return takenIds, takenGroups
      end
      local priority = tonumber(top)
      takenTurns, takenLane, takenLevel = turnsKey(priority), laneKey(priority), priority
      if redis.call('LLEN', takenLane) > 0 and redis.call('LLEN', takenTurns) > 0
        and redis.call('HSETNX', laneTurnsKey, top, '1') == 1 then
        redis.call('RPUSH', takenTurns, LANE)
      end
      local members = redis.call('LPOP', takenTurns, max)
      while members do
        takeMembers(members, max, top)
        if #takenIds > 0 then return takenIds, takenGroups end
        members = redis.call('LPOP', takenTurns, max)
      end
      -- No rotation at this level: its lane alone.
      for _, id in ipairs(redis.call('LPOP', takenLane, max) or {}) do addTaken(id, false, false, false) end
      if #takenIds > 0 then return takenIds, takenGroups end
      redis.call('ZREM', levelsKey, top)
      -- (A group moved to another rotation above read the levels anew.)
      if knownLevels then table.remove(knownLevels, 1) end
    end
  end

  -- Settles the batch takeBatch took: its first `kept` messages are taken (their groups out), the rest go
  -- back where they were (rotation members back at the front of their rotation), as if never taken. With
  -- `endedLast`, the last kept one is a group's message that left the queue (expired, or gone): its group's
  -- next may go (or the group ends), and the caller takes a new batch before anything else.
  local function settleTaken(kept, endedLast)
    local count = #takenIds
    if kept < count then
      local laneBack, membersBack = {}, {}
      for index = count, kept + 1, -1 do
        local group = takenGroups[index]
        if group then
          redis.call('LPUSH', groupKey(group), takenItems[index])
        else
          laneBack[#laneBack + 1] = takenIds[index]
        end
        if takenMembers[index] then membersBack[#membersBack + 1] = takenMembers[index] end
      end
      if #laneBack > 0 then redis.call('LPUSH', takenLane, unpack(laneBack)) end
      if #membersBack > 0 then redis.call('LPUSH', takenTurns, unpack(membersBack)) end
    end
    local outFields, outCount, laneTurnTaken = { FILLER_FIELD, FILLER }, 2, false
    for index = 1, kept do
      local group = takenGroups[index]
      if group then
        readyElsewhereChange = readyElsewhereChange - 1
        if not (endedLast and index == kept) then
          outFields[outCount + 1], outFields[outCount + 2] = group, takenIds[index]
          outCount = outCount + 2
        end
      else
        if takenLevel > 0 then readyElsewhereChange = readyElsewhereChange - 1 end
        if takenMembers[index] == LANE then laneTurnTaken = true end
      end
    end
    if outCount > 2 then redis.call('HSET', outKey, unpack(outFields)) end
    if laneTurnTaken then
      -- The lane's turn is over: it comes again at the tail of the rotation while it holds messages.
      if redis.call('LLEN', takenLane) > 0 then
        redis.call('RPUSH', takenTurns, LANE)
      else
        redis.call('HDEL', laneTurnsKey, takenLevel)
      end
    end
    if endedLast then nextOrEnd(takenGroups[kept]) end
  end

  -- The groups that have messages (`groups` less its filler).
  local function groupNames()
    local names = redis.call('HKEYS', groupsKey)
    for index, name in ipairs(names) do
      if name == FILLER_FIELD then
        table.remove(names, index)
        break
      end
    end
    return names
  end

  -- How many groups have messages (`groups` less its filler).
  local function groupCount()
    return redis.call('HLEN', groupsKey) - redis.call('HEXISTS', groupsKey, FILLER_FIELD)
  end

  lanesBuilt = {
    laneTurnsKey = laneTurnsKey,
    outKey = outKey,
    groupsKey = groupsKey,
    groupDelaysKey = groupDelaysKey,
    dropIfFillerAlone = dropIfFillerAlone,
    addReady = addReady,
    releaseGroup = releaseGroup,
    releaseGroups = releaseGroups,
    addSent = addSent,
    addSentToGroups = addSentToGroups,
    idleGroups = idleGroups,
    startOut = startOut,
    delayInGroup = delayInGroup,
    delayEndsInGroup = delayEndsInGroup,
    forgetStaleDelays = forgetStaleDelays,
    takeBatch = takeBatch,
    settleTaken = settleTaken,
    groupNames = groupNames,
    groupCount = groupCount,
    laneKey = laneKey,
    groupKey = groupKey,
    turnsKey = turnsKey,
  }
  return lanesBuilt
end

-- Puts plain messages of priority 0 on KEYS[1] with `push` (LPUSH at the head, RPUSH at the tail). A message
-- there may always be taken (in a queue with levels, it is the lane of level 0), so the consumers are
-- woken when the list was empty before, even when the queue held ready messages, which may all wait
-- behind groups out.
local function pushPlain(push, ids)
  if redis.call(push, readyKey, unpack(ids)) == #ids then madeTakeable = true end
end

-- Puts ended leases back at the head of their group or lane, keeping their acceptance order among
-- themselves, and frees their groups. `entries` is a list of { id, seq, group, priority } (group nil and
-- priority 0 when plain). Returns 1 when the queue's consumers should be woken (this script made a message
-- takeable that may not have been: rotationGrew, pushPlain), else 0.
local function requeueAtHead(entries)
  if #entries == 0 then return madeTakeable and 1 or 0 end
  table.sort(entries, function(a, b) return a[2] > b[2] end)
  local plain = {}
  for _, entry in ipairs(entries) do
    local id, _, group, priority = entry[1], entry[2], entry[3], entry[4]
    if group or priority > 0 then
      lanes().addReady(id, group, priority, true)
      if group then lanes().releaseGroup(group) end
    else
      plain[#plain + 1] = id
    end
  end
  if #plain > 0 then pushPlain('LPUSH', plain) end
  return madeTakeable and 1 or 0
end
