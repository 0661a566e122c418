--[[
  Reads one caller with its position (its rank in the line when waiting). Writes nothing.

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

  ARGV[1] caller uuid

  Returns: caller JSON with position, or nil when there is no such caller (or queue).
  Errors: none.
]]
local rcall = redis.call

local raw = rcall('HGET', KEYS[3], ARGV[1])
if not raw then return false end
local c = cjson.decode(raw)
c.position = c.status == 'waiting' and rcall('ZRANK', KEYS[4], c.uuid) or cjson.null
return cjson.encode(c)
