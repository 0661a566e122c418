--[[
  Creates a tag, or finds the existing one of that name (PyFarm: POST is idempotent).

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] tag name (never all digits)

  Returns: { id, 1 created | 0 existed }. Errors: none.
]]
local rcall = redis.call
--- @include "event-record"

local id = rcall('HGET', KEYS[3], ARGV[1])
if id then return { tonumber(id), 0 } end
id = rcall('INCR', KEYS[4])
rcall('HSET', KEYS[2], id, ARGV[1])
rcall('HSET', KEYS[3], ARGV[1], id)
recordEvent(KEYS[9], '', 'tag.create', { tag_id = id, tag = ARGV[1] })
return { id, 1 }
