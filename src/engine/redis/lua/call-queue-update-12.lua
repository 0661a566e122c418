--[[
  Changes a call queue's fields; announces queue_updated when any value differs.

  KEYS[1..12] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox; then routing's three
             (RoutingQueueKeys: offers deadlines routing), only read: is routing idle

  ARGV[1] change-log retention
  ARGV[2] patch JSON: any of name, description, disabled, project_id, user_id,
          service_level_seconds (null clears project_id / user_id)

  Returns: { queue JSON, change JSON, routing idle } or { queue JSON } when nothing changed
           (with a change: routing idle after it, 1 or 0, includes/route-idle.lua; the router
           then skips its own read)
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "route-idle"

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
}), routingIdle() }
