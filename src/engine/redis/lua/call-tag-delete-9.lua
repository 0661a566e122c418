--[[
  Deletes a tag and every relation to it.

  KEYS[1..9] the application's keys, laid out in keys.ts (CallAppScriptKeys):
             agents tags tagids tagseq agentseq agenttags tagagents agentqueues outbox
  ARGV[1] tag reference (id or name)

  Returns: 1 when deleted, 0 when there was no such tag. Errors: none.
]]
local rcall = redis.call
--- @include "call-resolve-tag"
--- @include "call-json-set"
--- @include "event-record"

local id = resolveTag(ARGV[1])
if not id then return 0 end
for _, uuid in ipairs(setMembers(KEYS[7], id)) do setChange(KEYS[6], uuid, id, false) end
rcall('HDEL', KEYS[7], id)
local name = rcall('HGET', KEYS[2], id)
rcall('HDEL', KEYS[3], name)
rcall('HDEL', KEYS[2], id)
recordEvent(KEYS[9], '', 'tag.delete', { tag_id = tonumber(id), tag = name })
return 1
