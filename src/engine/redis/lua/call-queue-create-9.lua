--[[
  Creates a call queue's record (seq 0: creation is not a change anyone is subscribed to).

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] queue JSON without times (uuid fresh from the caller)

  Returns: the stored queue JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"
--- @include "event-record"

local q = cjson.decode(ARGV[1])
local now = nowMs()
q.created_ms = now
q.updated_ms = now
local json = cjson.encode(q)
rcall('HSET', KEYS[1], 'q', json, 'seq', 0, 'joinseq', 0)
recordEvent(KEYS[9], '', 'queue.create', {
  queue_id = q.uuid, name = q.name, disabled = q.disabled, service_level_seconds = q.service_level_seconds,
  user_id = q.user_id, owner_project_id = q.project_id,
})
return json
