--[[
  Stores a new agent with its creation number `n` (<base>agentseq), which orders listings: two
  agents created in the same millisecond still list in creation order.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] agent JSON without times: uuid (fresh), name, project_id, user_id

  Returns: the agent JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local a = cjson.decode(ARGV[2])
local now = nowMs()
a.n = rcall('INCR', ARGV[1] .. 'agentseq')
a.created_ms = now
a.updated_ms = now
local json = cjson.encode(a)
rcall('HSET', KEYS[1], a.uuid, json)
return json
