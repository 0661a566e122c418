--[[
  One live message of a partition.

  KEYS[1] msg  HASH id -> record
  ARGV[1] message id

  Returns: the record, or false when the message does not exist or has expired (its record's
  expiry, the authority: keys.ts).
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "recordExpiry"

local record = rcall('HGET', KEYS[1], ARGV[1])
if not record then return false end
local e = recordExpiry(record)
if not e or e <= math.floor(nowUs() / 1000) then return false end
return record
