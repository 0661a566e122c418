--[[
  Fills a node's in-process tail of a partition (tail-cache.ts): the newest stored messages and,
  at the same instant, what partition-probe.lua returns, so the tail knows exactly which seqs it
  covers and which change version it is valid for. Expired messages not reclaimed yet are included
  (the tail filters by the Redis clock at each read, as read.lua does).

  KEYS[1] ids  KEYS[2] msg
  KEYS[3] state  HASH ts, seq, q, v
  ARGV[1] how many messages at most (1..10000)

  Returns: { seq, v, q, nowMs, ts, record... } with the records newest first.
  Errors: none of its own.
]]
--- @include "nowUs"
--- @include "numStr"

local rcall = redis.call
local state = rcall('HMGET', KEYS[3], 'seq', 'v', 'q', 'ts')
local out = { state[1] or '0', state[2] or '0', state[3] or '', numStr(math.floor(nowUs() / 1000)), state[4] or '0' }
local ids = rcall('ZREVRANGEBYLEX', KEYS[1], '+', '-', 'LIMIT', 0, tonumber(ARGV[1]))
if #ids > 0 then
  local records = rcall('HMGET', KEYS[2], unpack(ids))
  for j = 1, #records do
    if records[j] then out[#out + 1] = records[j] end
  end
end
return out
