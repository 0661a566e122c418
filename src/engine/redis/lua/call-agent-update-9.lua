--[[
  Changes an agent's name, project_id or user_id.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] agent uuid
  ARGV[2] patch JSON: any of name, project_id, user_id (null clears the ids)

  Returns: { agent JSON, tag name... }. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-json-set"
--- @include "event-record"

local raw = rcall('HGET', KEYS[1], ARGV[1])
if not raw then fail('agent_not_found') end
local a = cjson.decode(raw)
local p = cjson.decode(ARGV[2])
for _, f in ipairs({ 'name', 'project_id', 'user_id' }) do
  if p[f] ~= nil then a[f] = p[f] end
end
a.updated_ms = nowMs()
local json = cjson.encode(a)
rcall('HSET', KEYS[1], a.uuid, json)
recordEvent(KEYS[9], '', 'agent.update', { agent_id = a.uuid, name = a.name, user_id = a.user_id, owner_project_id = a.project_id })
local row = { json }
for _, id in ipairs(setMembers(KEYS[6], a.uuid)) do row[#row + 1] = rcall('HGET', KEYS[2], id) end
return row
