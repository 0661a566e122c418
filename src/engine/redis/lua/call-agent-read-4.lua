--[[
  Reads agents with their tag names: all, one, or those carrying a tag. Writes nothing.

  KEYS[1..4] the application's keys, laid out in calls-keys.ts (CallAppKeys):
             agents tags tagids tagseq
  ARGV[1] base    prefix of the per-agent and per-tag sets (calls-keys.ts CallAppKeys.base)
  ARGV[2] mode: all | one | tag
  ARGV[3] agent uuid (one) or tag reference (tag)

  Returns: { { agent JSON, tag name... }... } (empty when mode one finds nothing).
  Errors: tag_not_found (mode tag).
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"

local function withTags(uuid, json)
  local row = { json }
  for _, id in ipairs(rcall('SMEMBERS', ARGV[1] .. 'agent-tags:' .. uuid)) do
    row[#row + 1] = rcall('HGET', KEYS[2], id)
  end
  return row
end

local out = {}
if ARGV[2] == 'all' then
  local h = rcall('HGETALL', KEYS[1])
  for i = 1, #h, 2 do out[#out + 1] = withTags(h[i], h[i + 1]) end
elseif ARGV[2] == 'one' then
  local json = rcall('HGET', KEYS[1], ARGV[3])
  if json then out[1] = withTags(ARGV[3], json) end
else
  local id = resolveTag(ARGV[3])
  if not id then fail('tag_not_found') end
  for _, uuid in ipairs(rcall('SMEMBERS', ARGV[1] .. 'tag-agents:' .. id)) do
    local json = rcall('HGET', KEYS[1], uuid)
    if json then out[#out + 1] = withTags(uuid, json) end
  end
end
return out
