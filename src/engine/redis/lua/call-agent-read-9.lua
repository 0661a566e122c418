--[[
  Reads agents with their tag names: all, one, or those carrying a tag. Writes nothing.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] mode: all | one | tag
  ARGV[2] agent uuid (one) or tag reference (tag)

  Returns: { { agent JSON, tag name... }... } (empty when mode one finds nothing).
  Errors: tag_not_found (mode tag).
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-resolve-tag"
--- @include "call-json-set"

local function withTags(uuid, json)
  local row = { json }
  for _, id in ipairs(setMembers(KEYS[6], uuid)) do row[#row + 1] = rcall('HGET', KEYS[2], id) end
  return row
end

local out = {}
if ARGV[1] == 'all' then
  local h = rcall('HGETALL', KEYS[1])
  for i = 1, #h, 2 do out[#out + 1] = withTags(h[i], h[i + 1]) end
elseif ARGV[1] == 'one' then
  local json = rcall('HGET', KEYS[1], ARGV[2])
  if json then out[1] = withTags(ARGV[2], json) end
else
  local id = resolveTag(ARGV[2])
  if not id then fail('tag_not_found') end
  for _, uuid in ipairs(setMembers(KEYS[7], id)) do
    local json = rcall('HGET', KEYS[1], uuid)
    if json then out[#out + 1] = withTags(uuid, json) end
  end
end
return out
