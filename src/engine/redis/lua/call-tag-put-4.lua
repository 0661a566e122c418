--[[
  PUT on a tag reference: renames an existing tag and/or replaces its agents, or creates it
  (named by ARGV[3], else by the reference). Every agent and name is checked before any write.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] tag reference (id or name)
  ARGV[3] new name, or '' to keep it (or to use the reference when creating)
  ARGV[4] JSON array of agent uuids replacing the tag's agents, or '' to keep them

  Returns: { id, name, 1 created | 0 existed, agent uuid... }.
  Errors: tag_not_found (an id that does not exist), tag_exists:tag, agent_not_found:agents.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"

local ref = ARGV[2]
local id = resolveTag(ref)
if not id and string.match(ref, '^%d+$') then fail('tag_not_found') end
local oldName = id and rcall('HGET', KEYS[2], id) or nil
local name = ARGV[3]
if name == '' then name = oldName or ref end
local holder = rcall('HGET', KEYS[3], name)
if holder and holder ~= id then fail('tag_exists', 'tag') end
local agents = nil
if ARGV[4] ~= '' then
  agents = cjson.decode(ARGV[4])
  for _, uuid in ipairs(agents) do
    if rcall('HEXISTS', KEYS[1], uuid) == 0 then fail('agent_not_found', 'agents') end
  end
end

local created = 0
if not id then
  id = tostring(rcall('INCR', KEYS[4]))
  created = 1
else
  rcall('HDEL', KEYS[3], oldName)
end
rcall('HSET', KEYS[2], id, name)
rcall('HSET', KEYS[3], name, id)
local tagAgents = ARGV[1] .. 'tag-agents:' .. id
if agents then
  for _, uuid in ipairs(rcall('SMEMBERS', tagAgents)) do rcall('SREM', ARGV[1] .. 'agent-tags:' .. uuid, id) end
  rcall('DEL', tagAgents)
  for _, uuid in ipairs(agents) do
    rcall('SADD', tagAgents, uuid)
    rcall('SADD', ARGV[1] .. 'agent-tags:' .. uuid, id)
  end
end
local out = { tonumber(id), name, created }
for _, uuid in ipairs(rcall('SMEMBERS', tagAgents)) do out[#out + 1] = uuid end
return out
