--[[
  How many live (unexpired) messages a partition holds, expired-but-unreclaimed ones excluded.

  KEYS[1] exp  ZSET id -> expiresAtMs
  ARGV: none

  Returns: integer.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"

return rcall('ZCOUNT', KEYS[1], '(' .. math.floor(nowUs() / 1000), '+inf')
