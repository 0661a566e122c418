--[[
  Removes a member from a call queue; announces member_removed. Callers offered to or connected
  with it keep their member_uuid (protocol/calls.md).

  KEYS[1] meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
  KEYS[2] stats    HASH  counters: ringing connected logged_in available paused completed
                         abandoned timed_out transferred answered_wait_ms answered_within
  KEYS[3] callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
  KEYS[4] line     ZSET  waiting callers by lineScore (priority desc, then join order)
  KEYS[5] age      ZSET  unanswered (waiting or ringing) callers by join time, ms
  KEYS[6] members  HASH  agent uuid -> member JSON
  KEYS[7] log      LIST  change JSON, oldest first, capped at the retention
  KEYS[8] channel  shard channel; every key and the channel share the queue's hash tag

  ARGV[1] change-log retention
  ARGV[2] agent uuid

  Returns: the change JSON.
  Errors: call_queue_not_found, member_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-load-member"
--- @include "call-count-member"
--- @include "call-read-stats"
--- @include "call-emit"

local q = loadQueue()
local m = loadMember(ARGV[2])
rcall('HDEL', KEYS[6], ARGV[2])
countMember(m, -1)
local now = nowMs()
return emit(ARGV[1], now, { queue_id = q.uuid, kind = 'member_removed', member = m, stats = readStats(q, now) })
