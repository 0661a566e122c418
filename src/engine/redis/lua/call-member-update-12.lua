--[[
  Pauses or unpauses a member, sets its status or number; announces member_updated when any value
  differs. Unpausing clears pause_reason (it is null whenever paused is false).

  KEYS[1..12] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox; then routing's three
             (RoutingQueueKeys: offers deadlines routing), only read: is routing idle

  ARGV[1] change-log retention
  ARGV[2] agent uuid
  ARGV[3] patch JSON: any of number, paused, pause_reason (null clears), status

  Returns: { member JSON, change JSON, routing idle } or { member JSON } when nothing changed
           (with a change: routing idle after it, 1 or 0, includes/route-idle.lua; the router
           then skips its own read)
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
--- @include "route-idle"
--- @include "route-member-to"

local q = loadQueue()
local _, raw = loadMember(ARGV[2])
local m = cjson.decode(raw)
local change = memberTo(q, m, cjson.decode(ARGV[3]), nowMs(), ARGV[1])
if change == nil then return { raw } end
return { cjson.encode(m), change, routingIdle() }
