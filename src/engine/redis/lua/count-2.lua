--[[
  How many live (unexpired) messages a partition holds, expired-but-unreclaimed ones excluded:
  the stored ids less the expired ones (expiredIds.lua, whose cost follows what is due and not yet
  reclaimed, which the sweeper keeps small).

  KEYS[1] ids  ZSET of ids (score 0)
  KEYS[2] exp  ZSET the expiry index (keys.ts)
  ARGV: none

  Returns: integer.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "expiredIds"

local _, expired = expiredIds(KEYS[2], KEYS[1], math.floor(nowUs() / 1000), 2147483647)
return rcall('ZCARD', KEYS[1]) - expired
