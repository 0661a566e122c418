--[[
  PUT on a tag reference: renames an existing tag and/or replaces its agents, or creates it
  (named by ARGV[2], else by the reference). Every agent and name is checked before any write.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] tag reference (id or name)
  ARGV[2] new name, or '' to keep it (or to use the reference when creating)
  ARGV[3] JSON array of agent uuids replacing the tag's agents, or '' to keep them

  Returns: { id, name, 1 created | 0 existed, agent uuid... }.
  Errors: tag_not_found (an id that does not exist), tag_exists:tag, agent_not_found:agents.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"
--- @include "call-json-set"
--- @include "event-record"

local ref = ARGV[1]
local id = resolveTag(ref)
if not id and string.match(ref, '^%d+$') then fail('tag_not_found') end
local oldName = id and rcall('HGET', KEYS[2], id) or nil
local name = ARGV[2]
if name == '' then name = oldName or ref end
local holder = rcall('HGET', KEYS[3], name)
if holder and holder ~= id then fail('tag_exists', 'tag') end
local agents = nil
if ARGV[3] ~= '' then
  agents = cjson.decode(ARGV[3])
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
if agents then
  for _, uuid in ipairs(setMembers(KEYS[7], id)) do setChange(KEYS[6], uuid, id, false) end
  rcall('HDEL', KEYS[7], id)
  for _, uuid in ipairs(agents) do
    setChange(KEYS[7], id, uuid, true)
    setChange(KEYS[6], uuid, id, true)
  end
end
local out = { tonumber(id), name, created }
for _, uuid in ipairs(setMembers(KEYS[7], id)) do out[#out + 1] = uuid end
recordEvent(KEYS[9], '', created == 1 and 'tag.create' or 'tag.update', { tag_id = tonumber(id), tag = name, agents = #out - 3 })
return out
