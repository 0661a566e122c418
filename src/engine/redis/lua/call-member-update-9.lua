--[[
  Pauses or unpauses a member, sets its status or number; announces member_updated when any value
  differs. Unpausing clears pause_reason (it is null whenever paused is false).

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] change-log retention
  ARGV[2] agent uuid
  ARGV[3] patch JSON: any of number, paused, pause_reason (null clears), status

  Returns: { member JSON, change JSON } or { member JSON } when nothing changed.
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
local cur, raw = loadMember(ARGV[2])
local m = cjson.decode(raw)
local p = cjson.decode(ARGV[3])
local now = nowMs()

if p.number ~= nil then m.number = p.number end
if p.status ~= nil and p.status ~= cur.status then
  m.status = p.status
  m.status_ms = now
end
if p.paused ~= nil and p.paused ~= cur.paused then
  m.paused = p.paused
  m.paused_ms = p.paused and now or cjson.null
end
if p.pause_reason ~= nil then m.pause_reason = p.pause_reason end
if not m.paused then m.pause_reason = cjson.null end

local changed = {}
for _, f in ipairs({ 'number', 'paused', 'pause_reason', 'status' }) do
  if m[f] ~= cur[f] then changed[#changed + 1] = f end
end
if #changed == 0 then return { raw } end

countMember(cur, -1)
countMember(m, 1)
local json = cjson.encode(m)
rcall('HSET', KEYS[6], m.uuid, json)
return { json, emit(ARGV[1], now, {
  queue_id = q.uuid, kind = 'member_updated', member = m, changed = changed, stats = readStats(q, now),
}) }
