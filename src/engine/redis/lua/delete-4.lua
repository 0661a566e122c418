--[[
  Deletes messages of one partition by id. An expired message no longer exists for callers: it is
  removed too (nothing to keep it for) but not counted.

  KEYS[1] ids  ZSET of ids
  KEYS[2] msg  HASH id -> record
  KEYS[3] exp  ZSET id -> expiresAtMs
  KEYS[4] state HASH of the partition (its change version v: includes/messageChanged.lua)
  ARGV[1..] message ids

  Returns: how many live messages were deleted.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "messageChanged"

local nowMs = math.floor(nowUs() / 1000)
local deleted = 0
for i = 1, #ARGV do
  local e = tonumber(rcall('ZSCORE', KEYS[3], ARGV[i]))
  if e then
    rcall('ZREM', KEYS[1], ARGV[i])
    rcall('HDEL', KEYS[2], ARGV[i])
    rcall('ZREM', KEYS[3], ARGV[i])
    if e > nowMs then deleted = deleted + 1 end
  end
end
if deleted > 0 then messageChanged(KEYS[4]) end
return deleted
