--[[
  Reads one caller with its position (its rank in the line when waiting). Writes nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] caller uuid

  Returns: caller JSON with position, or nil when there is no such caller (or queue).
  Errors: none.
]]
local rcall = redis.call

local raw = rcall('HGET', KEYS[3], ARGV[1])
if not raw then return false end
local c = cjson.decode(raw)
c.position = c.status == 'waiting' and rcall('ZRANK', KEYS[4], c.uuid) or cjson.null
return cjson.encode(c)
