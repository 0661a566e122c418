--[[
  Reads up to `limit` live messages of one partition from a lexicographic id range, in partition
  order or its reverse. Expired messages are skipped here, whether or not the sweeper has reclaimed
  them yet, so no read ever returns one (SPEC.md section 3.1).

  KEYS[1] ids  ZSET of ids (score 0)
  KEYS[2] msg  HASH id -> record
  KEYS[3] exp  ZSET id -> expiresAtMs

  ARGV[1] order: 'a' ascending, 'd' descending
  ARGV[2] range start in ZRANGEBYLEX syntax ('-', '+', '[<id>'): the lower bound when ascending,
          the upper bound when descending
  ARGV[3] range end ('+' ascending, '-' descending)
  ARGV[4] limit (1..1000)

  Returns: array of records, in the requested order.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"

local nowMs = math.floor(nowUs() / 1000)
local ascending = ARGV[1] == 'a'
local limit = tonumber(ARGV[4])
-- Scanning in batches bounds the work per step when many expired messages wait for the sweeper.
local batch = math.max(limit, 64)
local from = ARGV[2]
local out = {}

while #out < limit do
  local ids
  if ascending then
    ids = rcall('ZRANGEBYLEX', KEYS[1], from, ARGV[3], 'LIMIT', 0, batch)
  else
    ids = rcall('ZREVRANGEBYLEX', KEYS[1], from, ARGV[3], 'LIMIT', 0, batch)
  end
  if #ids == 0 then break end
  local expiries = rcall('ZMSCORE', KEYS[3], unpack(ids))
  local live = {}
  for j = 1, #ids do
    local e = tonumber(expiries[j])
    if e and e > nowMs then
      live[#live + 1] = ids[j]
      if #out + #live >= limit then break end
    end
  end
  if #live > 0 then
    local records = rcall('HMGET', KEYS[2], unpack(live))
    for j = 1, #records do
      if records[j] then out[#out + 1] = records[j] end
    end
  end
  if #ids < batch then break end
  from = '(' .. ids[#ids]
end
return out
