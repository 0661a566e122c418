--[[
  One live message of a partition.

  KEYS[1] msg  HASH id -> record
  KEYS[2] exp  ZSET id -> expiresAtMs
  ARGV[1] message id

  Returns: the record, or false when the message does not exist or has expired.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"

local e = tonumber(rcall('ZSCORE', KEYS[2], ARGV[1]))
if not e or e <= math.floor(nowUs() / 1000) then return false end
return rcall('HGET', KEYS[1], ARGV[1])
