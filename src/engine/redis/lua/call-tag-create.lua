--[[
  Creates a tag, or finds the existing one of that name (PyFarm: POST is idempotent).

  KEYS[1] agents  HASH    agent uuid -> agent JSON
  KEYS[2] tags    HASH    tag id -> name
  KEYS[3] tagids  HASH    tag name -> id
  KEYS[4] tagseq  STRING  last tag id
  ARGV[1] base    the application's key prefix (its hash tag and ":"); keys derived from it share
                  the hash tag of KEYS, so the script stays in one slot:
                  <base>agent-tags:<uuid> SET tag ids, <base>tag-agents:<id> SET agent uuids,
                  <base>agent-queues:<uuid> SET uuids of the call queues the agent is a member of
  ARGV[2] tag name (never all digits)

  Returns: { id, 1 created | 0 existed }. Errors: none.
]]
local rcall = redis.call

local id = rcall('HGET', KEYS[3], ARGV[2])
if id then return { tonumber(id), 0 } end
id = rcall('INCR', KEYS[4])
rcall('HSET', KEYS[2], id, ARGV[2])
rcall('HSET', KEYS[3], ARGV[2], id)
return { id, 1 }
