--[[
  Changes a caller's priority, status or member; announces caller_updated with the line move when
  its position changed or it entered or left the line. Rules (CALLER_TRANSITIONS in
  src/engine/call-types.ts): waiting -> ringing | connected, ringing -> waiting | connected,
  connected is final; a waiting caller has no member; a ringing or connected one must have one,
  and a newly given member must be a member of this queue. A priority change keeps the caller's
  join number, so among equal priorities it keeps its place by join order.

  KEYS[1..12] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox; then routing's three
             (RoutingQueueKeys: offers deadlines routing), only read: is routing idle

  ARGV[1] change-log retention
  ARGV[2] caller uuid
  ARGV[3] patch JSON: any of priority, status, member_uuid (null clears)

  Returns: { caller JSON with position, change JSON, routing idle } or { caller JSON } when nothing
           changed
           (with a change: routing idle after it, 1 or 0, includes/route-idle.lua; the router
           then skips its own read)
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
--- @include "route-idle"
--- @include "route-caller-to"

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

-- callerTo moves the caller (and sets its position) before the caller is encoded.
local change = callerTo(q, c, status, member, nowMs(), ARGV[1], priority)
return { cjson.encode(c), change, routingIdle() }
