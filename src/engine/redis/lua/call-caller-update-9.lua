--[[
  Changes a caller's priority, status or member; announces caller_updated with the line move when
  its position changed or it entered or left the line. Rules (CALLER_TRANSITIONS in
  src/engine/call-types.ts): waiting -> ringing | connected, ringing -> waiting | connected,
  connected is final; a waiting caller has no member; a ringing or connected one must have one,
  and a newly given member must be a member of this queue. A priority change keeps the caller's
  join number, so among equal priorities it keeps its place by join order.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] change-log retention
  ARGV[2] caller uuid
  ARGV[3] patch JSON: any of priority, status, member_uuid (null clears)

  Returns: { caller JSON with position, change JSON } or { caller JSON } when nothing changed.
  Errors: call_queue_not_found, caller_not_found, invalid_transition:status,
          invalid_field:member_uuid, missing_field:member_uuid, member_not_found:member_uuid.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-load-caller"
--- @include "call-line-score"
--- @include "call-read-stats"
--- @include "call-emit"

local ALLOWED = { waiting = { ringing = true, connected = true }, ringing = { waiting = true, connected = true }, connected = {} }

local q = loadQueue()
local c = loadCaller(ARGV[2])
local p = cjson.decode(ARGV[3])

local oldStatus = c.status
local status = p.status or oldStatus
if status ~= oldStatus and not ALLOWED[oldStatus][status] then fail('invalid_transition', 'status') end
local givenMember = p.member_uuid ~= nil and p.member_uuid ~= cjson.null
local member = c.member_uuid
if p.member_uuid ~= nil then member = p.member_uuid end
if status == 'waiting' then
  if givenMember then fail('invalid_field', 'member_uuid') end
  member = cjson.null
else
  if member == cjson.null then fail('missing_field', 'member_uuid') end
  if givenMember and rcall('HEXISTS', KEYS[6], member) == 0 then fail('member_not_found', 'member_uuid') end
end
local priority = p.priority or c.priority

local changed = {}
if priority ~= c.priority then changed[#changed + 1] = 'priority' end
if status ~= oldStatus then changed[#changed + 1] = 'status' end
if member ~= c.member_uuid then changed[#changed + 1] = 'member_uuid' end
if #changed == 0 then
  c.position = oldStatus == 'waiting' and rcall('ZRANK', KEYS[4], c.uuid) or cjson.null
  return { cjson.encode(c) }
end

local now = nowMs()
local from = cjson.null
if oldStatus == 'waiting' then
  from = rcall('ZRANK', KEYS[4], c.uuid)
  rcall('ZREM', KEYS[4], c.uuid)
end
c.priority = priority
c.member_uuid = member
if status ~= oldStatus then
  c.status = status
  c.status_ms = now
  if oldStatus == 'ringing' then rcall('HINCRBY', KEYS[2], 'ringing', -1) end
  if status == 'ringing' then rcall('HINCRBY', KEYS[2], 'ringing', 1) end
  if status == 'connected' then
    c.connected_ms = now
    rcall('HINCRBY', KEYS[2], 'connected', 1)
    rcall('ZREM', KEYS[5], c.uuid)
  end
end
rcall('HSET', KEYS[3], c.uuid, cjson.encode(c))
local to = cjson.null
if status == 'waiting' then
  rcall('ZADD', KEYS[4], lineScore(priority, c.join_seq), c.uuid)
  to = rcall('ZRANK', KEYS[4], c.uuid)
end

c.position = to
local change = { queue_id = q.uuid, kind = 'caller_updated', caller = c, changed = changed, stats = readStats(q, now) }
if from ~= to then change.line = { uuid = c.uuid, from = from, to = to, length = rcall('ZCARD', KEYS[4]) } end
return { cjson.encode(c), emit(ARGV[1], now, change) }
