--[[
  Records that an agent is (about to be) a member of a call queue, checking that the agent exists,
  or forgets that it is. Linking runs before call-member-add.lua; call-agent-delete.lua reads the
  set to remove memberships. Unlinking runs once a membership or its queue is gone.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] link | unlink
  ARGV[2] call queue uuid
  ARGV[3..] agent uuids (link: exactly one)

  Returns: link: 1 when newly recorded, 0 when it already was; unlink: how many were removed.
  Errors: agent_not_found:agent_id (link).
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-json-set"

if ARGV[1] == 'link' then
  if rcall('HEXISTS', KEYS[1], ARGV[3]) == 0 then fail('agent_not_found', 'agent_id') end
  return setChange(KEYS[8], ARGV[3], ARGV[2], true)
end
local removed = 0
for i = 3, #ARGV do removed = removed + setChange(KEYS[8], ARGV[i], ARGV[2], false) end
return removed
