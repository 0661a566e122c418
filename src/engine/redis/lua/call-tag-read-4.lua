--[[
  Reads one tag or all tags with their agents. Writes nothing.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] tag reference, or '' for all tags

  Returns: { { id, name, agent uuid... }... } (empty when the reference finds nothing).
  Errors: none.
]]
local rcall = redis.call
--- @include "call-resolve-tag"

local function row(id)
  local r = { tonumber(id), rcall('HGET', KEYS[2], id) }
  for _, uuid in ipairs(rcall('SMEMBERS', ARGV[1] .. 'tag-agents:' .. id)) do r[#r + 1] = uuid end
  return r
end

if ARGV[2] ~= '' then
  local id = resolveTag(ARGV[2])
  if not id then return {} end
  return { row(id) }
end
local out = {}
for _, id in ipairs(rcall('HKEYS', KEYS[2])) do out[#out + 1] = row(id) end
return out
