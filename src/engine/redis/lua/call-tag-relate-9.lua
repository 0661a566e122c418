--[[
  Tags or untags an agent.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] tag reference (id or name)
  ARGV[2] agent uuid
  ARGV[3] add | remove

  Returns: { id, name, 1 when the relation changed | 0 when it already was so }.
  Errors: tag_not_found, agent_not_found:agent_id.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"
--- @include "call-json-set"
--- @include "event-record"

local id = resolveTag(ARGV[1])
if not id then fail('tag_not_found') end
local uuid = ARGV[2]
if rcall('HEXISTS', KEYS[1], uuid) == 0 then fail('agent_not_found', 'agent_id') end
local add = ARGV[3] == 'add'
local changed = setChange(KEYS[7], id, uuid, add)
setChange(KEYS[6], uuid, id, add)
local name = rcall('HGET', KEYS[2], id)
if changed == 1 then
  recordEvent(KEYS[9], '', add and 'tag.agent.add' or 'tag.agent.remove', { tag_id = tonumber(id), tag = name, agent_id = uuid })
end
return { tonumber(id), name, changed }
