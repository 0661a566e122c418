--[[
  What a node needs to trust its in-process tail of a partition (tail-cache.ts) for one read: the
  partition's last seq and the timestamp of the append that gave it, its change version
  (includes/messageChanged.lua), its queue marker, and the Redis clock, all at one instant. A tiny reply instead of a history read's ids and records.

  KEYS[1] state  HASH ts, seq, q, v

  Returns: { seq, v, q, nowMs, ts } (seq, v and ts '0' when absent, q '' when absent), strings.
  Errors: none of its own.
]]
--- @include "nowUs"
--- @include "numStr"

local state = redis.call('HMGET', KEYS[1], 'seq', 'v', 'q', 'ts')
return { state[1] or '0', state[2] or '0', state[3] or '', numStr(math.floor(nowUs() / 1000)), state[4] or '0' }
