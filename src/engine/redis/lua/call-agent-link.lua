--[[
  Records that an agent is (about to be) a member of a call queue, checking that the agent exists.
  Runs before call-member-add.lua; call-agent-delete.lua reads the set to remove memberships.

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
  ARGV[2] agent uuid
  ARGV[3] call queue uuid

  Returns: 1 when newly recorded, 0 when it already was. Errors: agent_not_found.
]]
local rcall = redis.call
--- @include "call-fail"

if rcall('HEXISTS', KEYS[1], ARGV[2]) == 0 then fail('agent_not_found', 'agent_id') end
return rcall('SADD', ARGV[1] .. 'agent-queues:' .. ARGV[2], ARGV[3])
