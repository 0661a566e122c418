--[[
  Records that an agent is (about to be) a member of a call queue, checking that the agent exists.
  Runs before call-member-add.lua; call-agent-delete.lua reads the set to remove memberships.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] agent uuid
  ARGV[3] call queue uuid

  Returns: 1 when newly recorded, 0 when it already was. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"

if rcall('HEXISTS', KEYS[1], ARGV[2]) == 0 then fail('agent_not_found', 'agent_id') end
return rcall('SADD', ARGV[1] .. 'agent-queues:' .. ARGV[2], ARGV[3])
