--[[
  Stores a new agent with its creation number `n` (<base>agentseq), which orders listings: two
  agents created in the same millisecond still list in creation order.

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
  ARGV[2] agent JSON without times: uuid (fresh), name, project_id, user_id

  Returns: the agent JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local a = cjson.decode(ARGV[2])
local now = nowMs()
a.n = rcall('INCR', ARGV[1] .. 'agentseq')
a.created_ms = now
a.updated_ms = now
local json = cjson.encode(a)
rcall('HSET', KEYS[1], a.uuid, json)
return json
