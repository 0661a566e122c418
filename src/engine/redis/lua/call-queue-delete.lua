--[[
  Deletes a call queue with its callers, members and change log, and announces queue_deleted (the
  last seq) so subscribers learn the queue is gone.

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

  Returns: { change JSON, agent uuid of each removed member... } (the caller unlinks those agents).
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"

local q = loadQueue()
local now = nowMs()
local out = { '' }
for _, agent in ipairs(rcall('HKEYS', KEYS[6])) do out[#out + 1] = agent end
local seq = rcall('HINCRBY', KEYS[1], 'seq', 1)
out[1] = cjson.encode({ queue_id = q.uuid, seq = seq, at_ms = now, kind = 'queue_deleted', queue = q })
rcall('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
rcall('SPUBLISH', KEYS[8], out[1])
return out
