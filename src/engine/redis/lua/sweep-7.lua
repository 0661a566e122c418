--[[
  Reclaims expired messages of one partition (run by the sweeper for partitions the expiry
  index says are due; see src/engine/redis/sweeper.ts for the protocol around it), and takes them
  out of every processing-state index in the same step (keys.ts).

  The expiry index (keys.ts `exp`) holds runs ('<first id> <last id>', the messages of one append
  that share a ttl) and single messages (an id: a run of one, a message an update gave another
  ttl, or data from before runs). A due id entry is its message, expired (its score is its expiry).
  A due run covers the stored ids in its range, except those with an id entry of their own that
  is not due (an update gave them a longer ttl; that entry reclaims them later). A run longer than
  what is left of this call's budget is narrowed to the ids it has not reached.

  KEYS[1] ids      ZSET of ids
  KEYS[2] msg      HASH id -> record
  KEYS[3] exp      ZSET the expiry index
  KEYS[4] stated   ZSET '<client_state> <id>'
  KEYS[5] unset    ZSET ids without a client_state
  KEYS[6] updated  ZSET id -> updatedAtUs
  KEYS[7] replies  ZSET '<in_reply_to> <id>'
  ARGV[1] at most this many messages are looked at per call, so one call never blocks the shard long

  Returns: { reclaimed count, earliest expiresAtMs still indexed or -1 when the index is empty,
          1 when due entries are left for another call else 0 }.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "indexUnlink"

local nowMs = math.floor(nowUs() / 1000)
local budget = tonumber(ARGV[1])
local due = rcall('ZRANGEBYSCORE', KEYS[3], '-inf', nowMs, 'WITHSCORES', 'LIMIT', 0, budget)
local more = #due / 2 >= budget
local dead, seen = {}, {}
local fromRuns = {}
local looked = 0
for j = 1, #due, 2 do
  local m = due[j]
  if looked >= budget then
    more = true
    break
  end
  if #m == 32 then
    if not seen[m] then
      seen[m] = true
      dead[#dead + 1] = m
    end
    looked = looked + 1
  else
    local room = budget - looked
    local last = string.sub(m, 34)
    local ids = rcall('ZRANGEBYLEX', KEYS[1], '[' .. string.sub(m, 1, 32), '[' .. last, 'LIMIT', 0, room + 1)
    local take = math.min(#ids, room)
    for i = 1, take do fromRuns[#fromRuns + 1] = ids[i] end
    looked = looked + take
    rcall('ZREM', KEYS[3], m)
    if #ids > room then
      -- Still a run, even of one id: an id entry would stand for that message's own expiry.
      rcall('ZADD', KEYS[3], due[j + 1], ids[room + 1] .. ' ' .. last)
      more = true
      break
    end
  end
end

-- Ids of due runs: expired unless an entry of their own says otherwise.
for s = 1, #fromRuns, 500 do
  local e = math.min(s + 499, #fromRuns)
  local own = rcall('ZMSCORE', KEYS[3], unpack(fromRuns, s, e))
  for i = s, e do
    local mine = tonumber(own[i - s + 1])
    local id = fromRuns[i]
    if (not mine or mine <= nowMs) and not seen[id] then
      seen[id] = true
      dead[#dead + 1] = id
    end
  end
end

local reclaimed = 0
for s = 1, #dead, 500 do
  local e = math.min(s + 499, #dead)
  local chunk = { unpack(dead, s, e) }
  local records = rcall('HMGET', KEYS[2], unpack(chunk))
  for i = 1, #records do
    if records[i] then reclaimed = reclaimed + 1 end
  end
  indexUnlink(KEYS[4], KEYS[5], KEYS[6], KEYS[7], chunk, records)
  rcall('ZREM', KEYS[1], unpack(chunk))
  rcall('HDEL', KEYS[2], unpack(chunk))
  rcall('ZREM', KEYS[3], unpack(chunk))
end
local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local earliest = -1
if #first > 0 then earliest = tonumber(first[2]) end
return { reclaimed, earliest, more and 1 or 0 }
