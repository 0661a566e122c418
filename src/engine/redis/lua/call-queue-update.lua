--[[
  Changes a call queue's fields; announces queue_updated when any value differs.

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
  ARGV[2] patch JSON: any of name, description, disabled, project_id, user_id,
          service_level_seconds (null clears project_id / user_id)

  Returns: { queue JSON, change JSON } or { queue JSON } when nothing changed.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"
--- @include "call-emit"

local q = loadQueue()
local patch = cjson.decode(ARGV[2])
local changed = {}
for _, f in ipairs({ 'name', 'description', 'disabled', 'project_id', 'user_id', 'service_level_seconds' }) do
  local v = patch[f]
  if v ~= nil and v ~= q[f] then
    q[f] = v
    changed[#changed + 1] = f
  end
end
if #changed == 0 then return { cjson.encode(q) } end

local now = nowMs()
q.updated_ms = now
local json = cjson.encode(q)
rcall('HSET', KEYS[1], 'q', json)
return { json, emit(ARGV[1], now, {
  queue_id = q.uuid, kind = 'queue_updated', queue = q, changed = changed, stats = readStats(q, now),
}) }
