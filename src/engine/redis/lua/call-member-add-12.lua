--[[
  Adds an agent to a call queue as a member; announces member_added. The agent's existence is
  checked (and its membership recorded) by call-agent-link.lua just before, in the application's slot.

  KEYS[1..12] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox; then routing's three
             (RoutingQueueKeys: offers deadlines routing), only read: is routing idle

  ARGV[1] change-log retention
  ARGV[2] member JSON: uuid (the agent's), number, paused, pause_reason, status

  Returns: { member JSON, change JSON, routing idle after the change: 1 or 0 }
           (includes/route-idle.lua; the router then skips its own read)
  Errors: call_queue_not_found, member_exists.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-count-member"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "route-idle"

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
return { json, emit(ARGV[1], now, { queue_id = q.uuid, kind = 'member_added', member = m, stats = readStats(q, now) }), routingIdle() }
