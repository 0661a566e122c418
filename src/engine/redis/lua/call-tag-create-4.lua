--[[
  Creates a tag, or finds the existing one of that name (PyFarm: POST is idempotent).

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] tag name (never all digits)

  Returns: { id, 1 created | 0 existed }. Errors: none.
]]
local rcall = redis.call

local id = rcall('HGET', KEYS[3], ARGV[2])
if id then return { tonumber(id), 0 } end
id = rcall('INCR', KEYS[4])
rcall('HSET', KEYS[2], id, ARGV[2])
rcall('HSET', KEYS[3], ARGV[2], id)
return { id, 1 }
