--[[
  The retained changes after a seq, for a subscriber resuming. The log holds the last
  `retention` changes, seq (current - length + 1) .. current, with no hole. Writes nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] seq the subscriber has applied

  Returns: { change JSON... } with seq > ARGV[1] (empty when current), or nil when ARGV[1] is
           older than the log or newer than the queue (the subscriber takes a snapshot).
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-load-queue"

loadQueue()
local since = tonumber(ARGV[1])
local seq = tonumber(rcall('HGET', KEYS[1], 'seq'))
if since > seq or since < 0 then return false end
if since == seq then return {} end
local first = seq - rcall('LLEN', KEYS[7]) + 1
if since + 1 < first then return false end
return rcall('LRANGE', KEYS[7], since + 1 - first, -1)
