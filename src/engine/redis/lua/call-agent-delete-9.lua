--[[
  Deletes an agent and its tag relations, and hands back the call queues it is a member of (the
  caller then removes those memberships, one call-member-remove.lua per queue slot).

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] agent uuid

  Returns: { call queue uuid... }. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-json-set"
--- @include "event-record"

local uuid = ARGV[1]
if rcall('HDEL', KEYS[1], uuid) == 0 then fail('agent_not_found') end
recordEvent(KEYS[9], '', 'agent.delete', { agent_id = uuid })
for _, id in ipairs(setMembers(KEYS[6], uuid)) do setChange(KEYS[7], id, uuid, false) end
local queues = setMembers(KEYS[8], uuid)
rcall('HDEL', KEYS[6], uuid)
rcall('HDEL', KEYS[8], uuid)
return queues
