--[[
  Deletes an agent and its tag relations, and hands back the call queues it is a member of (the
  caller then removes those memberships, one call-member-remove.lua per queue slot).

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
  ARGV[2] agent uuid

  Returns: { call queue uuid... }. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"

local uuid = ARGV[2]
if rcall('HDEL', KEYS[1], uuid) == 0 then fail('agent_not_found') end
local tagsKey = ARGV[1] .. 'agent-tags:' .. uuid
for _, id in ipairs(rcall('SMEMBERS', tagsKey)) do rcall('SREM', ARGV[1] .. 'tag-agents:' .. id, uuid) end
local queuesKey = ARGV[1] .. 'agent-queues:' .. uuid
local queues = rcall('SMEMBERS', queuesKey)
rcall('DEL', tagsKey, queuesKey)
return queues
