--[[
  Tags or untags an agent.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] tag reference (id or name)
  ARGV[3] agent uuid
  ARGV[4] add | remove

  Returns: { id, name, 1 when the relation changed | 0 when it already was so }.
  Errors: tag_not_found, agent_not_found:agent_id.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"

local id = resolveTag(ARGV[2])
if not id then fail('tag_not_found') end
local uuid = ARGV[3]
if rcall('HEXISTS', KEYS[1], uuid) == 0 then fail('agent_not_found', 'agent_id') end
local op = ARGV[4] == 'add' and 'SADD' or 'SREM'
local changed = rcall(op, ARGV[1] .. 'tag-agents:' .. id, uuid)
rcall(op, ARGV[1] .. 'agent-tags:' .. uuid, id)
return { tonumber(id), rcall('HGET', KEYS[2], id), changed }
