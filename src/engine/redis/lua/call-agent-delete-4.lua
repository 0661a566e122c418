--[[
  Deletes an agent and its tag relations, and hands back the call queues it is a member of (the
  caller then removes those memberships, one call-member-remove.lua per queue slot).

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] agent uuid

  Returns: { call queue uuid... }. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"

local uuid = ARGV[2]
if rcall('HDEL', KEYS[1], uuid) == 0 then fail('agent_not_found') end
local tagsKey = ARGV[1] .. 'agent-tags:' .. uuid
for _, id in ipairs(rcall('SMEMBERS', tagsKey)) do rcall('SREM', ARGV[1] .. 'tag-agents:' .. id, uuid) end
local queuesKey = ARGV[1] .. 'agent-queues:' .. uuid
local queues = rcall('SMEMBERS', queuesKey)
rcall('DEL', tagsKey, queuesKey)
return queues
