--[[
  Deletes a tag and every relation to it.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] tag reference (id or name)

  Returns: 1 when deleted, 0 when there was no such tag. Errors: none.
]]
local rcall = redis.call
--- @include "call-resolve-tag"

local id = resolveTag(ARGV[2])
if not id then return 0 end
local tagAgents = ARGV[1] .. 'tag-agents:' .. id
for _, uuid in ipairs(rcall('SMEMBERS', tagAgents)) do rcall('SREM', ARGV[1] .. 'agent-tags:' .. uuid, id) end
rcall('DEL', tagAgents)
rcall('HDEL', KEYS[3], rcall('HGET', KEYS[2], id))
rcall('HDEL', KEYS[2], id)
return 1
