--[[
  Deletes a tag and every relation to it.

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
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
