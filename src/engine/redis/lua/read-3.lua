--[[
  Reads up to `limit` live messages of one partition from a lexicographic id range, in partition
  order or its reverse. Expired messages are skipped here, whether or not the sweeper has reclaimed
  them yet, so no read ever returns one (SPEC.md section 3.1).

  KEYS[1] ids  ZSET of ids (score 0)
  KEYS[2] msg  HASH id -> record
  KEYS[3] exp  ZSET the expiry index (keys.ts)

  ARGV[1] order: 'a' ascending, 'd' descending
  ARGV[2] range start in ZRANGEBYLEX syntax ('-', '+', '[<id>'): the lower bound when ascending,
          the upper bound when descending
  ARGV[3] range end ('+' ascending, '-' descending)
  ARGV[4] limit (1..1000)
  ARGV[5] 'i': return the ids of those messages instead of their records (optional)

  Returns: array of records (or, with 'i', of ids), in the requested order.

  Why ids: passing the records through Lua (HMGET's reply into Lua strings, then back out) cost
  Redis more than twice a bare ZRANGEBYLEX + HMGET. The engine asks for the ids here, where the
  expiry filter is atomic with the range, then HMGETs them itself; should a record be gone by then
  (deleted, or reclaimed after expiring in between), it reads again with the records from here
  (partition-scripts.ts readRecords).
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "expiredIds"
--- @include "recordExpiry"

local nowMs = math.floor(nowUs() / 1000)
local ascending = ARGV[1] == 'a'
local limit = tonumber(ARGV[4])
local idsOnly = ARGV[5] == 'i'
-- Scanning in batches bounds the work per step when many expired messages wait for the sweeper.
local batch = math.max(limit, 64)
local from = ARGV[2]
local out = {}

-- The expired-but-unreclaimed messages are few while the sweeper keeps up (it reclaims them within
-- its interval), so they are found once (expiredIds.lua) and skipped by lookup. When there are more
-- than DEAD_MAX of them, each batch judges its candidates by their records' expiries.
local DEAD_MAX = 256
local isDead, deadCount = expiredIds(KEYS[3], KEYS[1], nowMs, DEAD_MAX)

while #out < limit do
  local ids
  if ascending then
    ids = rcall('ZRANGEBYLEX', KEYS[1], from, ARGV[3], 'LIMIT', 0, batch)
  else
    ids = rcall('ZREVRANGEBYLEX', KEYS[1], from, ARGV[3], 'LIMIT', 0, batch)
  end
  if #ids == 0 then break end
  local want = limit - #out
  local live
  if isDead and deadCount == 0 and #ids <= want then
    live = ids
  else
    live = {}
    local records = nil
    if not isDead then records = rcall('HMGET', KEYS[2], unpack(ids)) end
    for j = 1, #ids do
      local alive
      if isDead then
        alive = not isDead[ids[j]]
      else
        local e = records[j] and recordExpiry(records[j])
        alive = e and e > nowMs or false
      end
      if alive then
        live[#live + 1] = ids[j]
        if #live >= want then break end
      end
    end
  end
  if idsOnly then
    for j = 1, #live do out[#out + 1] = live[j] end
  elseif #live > 0 then
    local records = rcall('HMGET', KEYS[2], unpack(live))
    for j = 1, #records do
      if records[j] then out[#out + 1] = records[j] end
    end
  end
  if #ids < batch then break end
  from = '(' .. ids[#ids]
end
return out
