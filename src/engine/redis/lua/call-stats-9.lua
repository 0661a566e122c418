--[[
  Reads a call queue's stats. Writes nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  Returns: stats JSON. Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"

return cjson.encode(readStats(loadQueue(), nowMs()))
