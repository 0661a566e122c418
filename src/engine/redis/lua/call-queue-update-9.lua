--[[
  Changes a call queue's fields; announces queue_updated when any value differs.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

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
