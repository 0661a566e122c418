--[[
  Reads one tag or all tags with their agents. Writes nothing.

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
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
