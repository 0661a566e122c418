--[[
  Stores a new agent with its creation number `n` (agentseq), which orders listings: two agents
  created in the same millisecond still list in creation order.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] agent JSON without times: uuid (fresh), name, project_id, user_id

  Returns: the agent JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"
--- @include "event-record"

local a = cjson.decode(ARGV[1])
local now = nowMs()
a.n = rcall('INCR', KEYS[5])
a.created_ms = now
a.updated_ms = now
local json = cjson.encode(a)
rcall('HSET', KEYS[1], a.uuid, json)
recordEvent(KEYS[9], '', 'agent.create', { agent_id = a.uuid, name = a.name, user_id = a.user_id, owner_project_id = a.project_id })
return json
