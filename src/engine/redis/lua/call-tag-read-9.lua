--[[
  Reads one tag or all tags with their agents. Writes nothing.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] tag reference, or '' for all tags

  Returns: { { id, name, agent uuid... }... } (empty when the reference finds nothing).
  Errors: none.
]]
local rcall = redis.call
--- @include "call-resolve-tag"
--- @include "call-json-set"

local function row(id)
  local r = { tonumber(id), rcall('HGET', KEYS[2], id) }
  for _, uuid in ipairs(setMembers(KEYS[7], id)) do r[#r + 1] = uuid end
  return r
end

if ARGV[1] ~= '' then
  local id = resolveTag(ARGV[1])
  if not id then return {} end
  return { row(id) }
end
local out = {}
for _, id in ipairs(rcall('HKEYS', KEYS[2])) do out[#out + 1] = row(id) end
return out
