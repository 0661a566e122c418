--[[
  Removes a member from a call queue; announces member_removed. Callers offered to or connected
  with it keep their member_uuid (protocol/calls.md).

  KEYS[1..12] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox; then routing's three
             (RoutingQueueKeys: offers deadlines routing), only read: is routing idle

  ARGV[1] change-log retention
  ARGV[2] agent uuid

  Returns: { change JSON, routing idle after the change: 1 or 0 }
           (includes/route-idle.lua; the router then skips its own read)
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

local q = loadQueue()
local m = loadMember(ARGV[2])
rcall('HDEL', KEYS[6], ARGV[2])
countMember(m, -1)
local now = nowMs()
return { emit(ARGV[1], now, { queue_id = q.uuid, kind = 'member_removed', member = m, stats = readStats(q, now) }), routingIdle() }
