--[[
  Creates a call queue's record (seq 0: creation is not a change anyone is subscribed to).

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

  ARGV[1] queue JSON without times (uuid fresh from the caller)

  Returns: the stored queue JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local q = cjson.decode(ARGV[1])
local now = nowMs()
q.created_ms = now
q.updated_ms = now
local json = cjson.encode(q)
rcall('HSET', KEYS[1], 'q', json, 'seq', 0, 'joinseq', 0)
return json
