--[[
  Reads everything a subscriber starts from, atomically: queue, seq, waiting line, callers,
  members and stats at one instant. Writes nothing.

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

  Returns: { queue JSON, seq, { waiting caller uuids in position order }, { caller JSON... },
             { member JSON... }, stats JSON }.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"

local q = loadQueue()
return {
  rcall('HGET', KEYS[1], 'q'),
  tonumber(rcall('HGET', KEYS[1], 'seq')),
  rcall('ZRANGE', KEYS[4], 0, -1),
  rcall('HVALS', KEYS[3]),
  rcall('HVALS', KEYS[6]),
  cjson.encode(readStats(q, nowMs())),
}
