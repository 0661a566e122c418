--[[
  The retained changes after a seq, for a subscriber resuming. The log holds the last
  `retention` changes, seq (current - length + 1) .. current, with no hole. Writes nothing.

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

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
