--[[
  Changes an agent's name, project_id or user_id.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] agent uuid
  ARGV[3] patch JSON: any of name, project_id, user_id (null clears the ids)

  Returns: { agent JSON, tag name... }. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"

local raw = rcall('HGET', KEYS[1], ARGV[2])
if not raw then fail('agent_not_found') end
local a = cjson.decode(raw)
local p = cjson.decode(ARGV[3])
for _, f in ipairs({ 'name', 'project_id', 'user_id' }) do
  if p[f] ~= nil then a[f] = p[f] end
end
a.updated_ms = nowMs()
local json = cjson.encode(a)
rcall('HSET', KEYS[1], a.uuid, json)
local row = { json }
for _, id in ipairs(rcall('SMEMBERS', ARGV[1] .. 'agent-tags:' .. a.uuid)) do row[#row + 1] = rcall('HGET', KEYS[2], id) end
return row
