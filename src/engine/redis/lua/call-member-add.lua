--[[
  Adds an agent to a call queue as a member; announces member_added. The agent's existence is
  checked (and its membership recorded) by call-agent-link.lua just before, in the application's slot.

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
  ARGV[2] member JSON: uuid (the agent's), number, paused, pause_reason, status

  Returns: { member JSON, change JSON }.
  Errors: call_queue_not_found, member_exists.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-count-member"
--- @include "call-read-stats"
--- @include "call-emit"

local q = loadQueue()
local m = cjson.decode(ARGV[2])
if rcall('HEXISTS', KEYS[6], m.uuid) == 1 then fail('member_exists') end

local now = nowMs()
m.queue_id = q.uuid
m.paused_ms = m.paused and now or cjson.null
if not m.paused then m.pause_reason = cjson.null end
m.status_ms = now
m.created_ms = now
local json = cjson.encode(m)
rcall('HSET', KEYS[6], m.uuid, json)
countMember(m, 1)
return { json, emit(ARGV[1], now, { queue_id = q.uuid, kind = 'member_added', member = m, stats = readStats(q, now) }) }
