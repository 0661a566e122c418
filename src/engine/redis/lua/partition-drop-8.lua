--[[
  Deletes one partition of a deleted queue: its messages go, and a tombstone takes the place of the
  live marker so that no append stores anything here again (append.lua) and no late partition-mark
  for the same incarnation revives it. The tombstone expires: it only has to outlive the callers
  that read the catalogue before the deletion. ts and seq are kept with it.

  KEYS[1] ids  KEYS[2] msg  KEYS[3] exp  KEYS[4] state
  KEYS[5] stated  KEYS[6] unset  KEYS[7] updated  KEYS[8] replies (the processing-state indexes, keys.ts)
  ARGV[1] incarnation number of the deleted queue
  ARGV[2] tombstone lifetime, ms

  Returns: 1 dropped, 0 when a newer incarnation (a queue of the same name created since) owns the
  partition: its data is not this deletion's to touch.
  Errors: none of its own.
]]
local rcall = redis.call

local q = rcall('HGET', KEYS[4], 'q')
if q and (tonumber(string.sub(q, 2)) or -1) > tonumber(ARGV[1]) then return 0 end
rcall('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
rcall('HDEL', KEYS[4], 'w')
rcall('HSET', KEYS[4], 'q', '-' .. ARGV[1])
rcall('PEXPIRE', KEYS[4], ARGV[2])
return 1
