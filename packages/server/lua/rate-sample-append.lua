-- Stores one sample of the dashboard's rates (engines/rate-samples.ts): compares the queues' running totals
-- with the previous sample's and appends a line of what grew, keeping the newest samples only.
-- KEYS[1] samples: list, oldest first, one sample a string (see the format below)
-- KEYS[2] totals: hash, '<namespace> <queue>' -> '<sent> <acked>', the totals of the newest sample
-- ARGV[1] the sample's time (ms since the epoch, Redis time: its slot's claim)
-- ARGV[2] how many samples to keep at most
-- ARGV[3] how long the samples and totals live after this sample (ms)
-- ARGV[4] '1': a partial sample (the queues active since the last one only): the others keep their totals
-- ARGV[5...] per queue listed now: '<namespace> <queue>', its total sent, its total acked
-- A sample is lines joined by '\n': first '<time> <sent> <acked>', the messages sent and acked by every
-- queue since the previous sample; then '<namespace> <queue> <sent> <acked>' for each queue whose totals
-- changed since then, with how much each grew. '-' is no count: in the first sample, for a queue new to the
-- samples (listed for the first time, with totals above 0), and for a total that went down (a store that
-- lost its data). Names hold no space or newline (docs/protocol.md §1).
-- Returns 1 when stored, 0 when a sample as new or newer was stored first (a slow sampler's turn passed).
local samplesKey, totalsKey = KEYS[1], KEYS[2]
local at = tonumber(ARGV[1])
local maxSamples = tonumber(ARGV[2])
local keepMs = tonumber(ARGV[3])
local partial = ARGV[4] == '1'

local newest = redis.call('LINDEX', samplesKey, -1)
if newest and tonumber(string.match(newest, '^(%d+)')) >= at then return 0 end
local first = not newest

local previous = {}
local flat = redis.call('HGETALL', totalsKey)
for index = 1, #flat, 2 do previous[flat[index]] = flat[index + 1] end

local function grown(before, after)
  if after >= before then return after - before end
  return nil
end
local function text(count)
  if count == nil then return '-' end
  return string.format('%d', count)
end

local lines = { '' }
local sentSum, ackedSum = 0, 0
for index = 5, #ARGV, 3 do
  local queue, sent, acked = ARGV[index], tonumber(ARGV[index + 1]), tonumber(ARGV[index + 2])
  local totals = ARGV[index + 1] .. ' ' .. ARGV[index + 2]
  local before = previous[queue]
  previous[queue] = nil
  if before == nil then
    redis.call('HSET', totalsKey, queue, totals)
    if not first and (sent > 0 or acked > 0) then lines[#lines + 1] = queue .. ' - -' end
  elseif before ~= totals then
    redis.call('HSET', totalsKey, queue, totals)
    local sentBefore, ackedBefore = string.match(before, '^(%d+) (%d+)$')
    local sentGrowth = grown(tonumber(sentBefore), sent)
    local ackedGrowth = grown(tonumber(ackedBefore), acked)
    sentSum = sentSum + (sentGrowth or 0)
    ackedSum = ackedSum + (ackedGrowth or 0)
    lines[#lines + 1] = queue .. ' ' .. text(sentGrowth) .. ' ' .. text(ackedGrowth)
  end
end
-- Queues no longer listed leave the totals: listed again, they are new.
if not partial then
  for queue in pairs(previous) do redis.call('HDEL', totalsKey, queue) end
end

if first then
  lines[1] = string.format('%d', at) .. ' - -'
else
  lines[1] = string.format('%d', at) .. ' ' .. text(sentSum) .. ' ' .. text(ackedSum)
end
redis.call('RPUSH', samplesKey, table.concat(lines, '\n'))
redis.call('LTRIM', samplesKey, -maxSamples, -1)
redis.call('PEXPIRE', samplesKey, keepMs)
if redis.call('EXISTS', totalsKey) == 1 then redis.call('PEXPIRE', totalsKey, keepMs) end
return 1
