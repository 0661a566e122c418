--[[
  A caller leaves a call queue with a reason; announces caller_left with its wait and, when it was
  in the waiting line, the line move (removed: everyone behind it moves up by one). Counts the
  reason in the stats; an answered caller's wait (join to connected, or to leaving if it was never
  connected) feeds the average wait and, when at most the queue's service_level_seconds, the
  service level.

  KEYS[1..12] the call queue's keys (CallQueueKeys) and routing's three (RoutingQueueKeys, only
              read: is routing idle), in keys.ts's order

  ARGV[1] change-log retention
  ARGV[2] caller uuid
  ARGV[3] reason: answered | abandoned | timeout | transferred

  Returns: { change JSON, routing idle after the change: 1 or 0 (includes/route-idle.lua; the
           router then skips its own read) }.
  Errors: call_queue_not_found, caller_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-load-caller"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "call-wallboard"
--- @include "route-idle"

local COUNTER = { answered = 'completed', abandoned = 'abandoned', timeout = 'timed_out', transferred = 'transferred' }

-- The queue and the wallboard's last minute opened, in one read.
local q, meta = loadQueueMeta({ 'wb' })
local c = loadCaller(ARGV[2])
local reason = ARGV[3]
local now = nowMs()

local from = cjson.null
if c.status == 'waiting' then
  from = rcall('ZRANK', KEYS[4], c.uuid)
  rcall('ZREM', KEYS[4], c.uuid)
end
rcall('ZREM', KEYS[5], c.uuid)
rcall('HDEL', KEYS[3], c.uuid)
if c.status ~= 'waiting' then rcall('HINCRBY', KEYS[2], c.status, -1) end

local connected = c.connected_ms
if connected == cjson.null or connected == nil then connected = now end
local waitMs = connected - c.created_ms
rcall('HINCRBY', KEYS[2], COUNTER[reason], '1')
if reason == 'answered' then
  rcall('HINCRBY', KEYS[2], 'answered_wait_ms', waitMs)
  if waitMs <= q.service_level_seconds * 1000 then rcall('HINCRBY', KEYS[2], 'answered_within', 1) end
end
wallboardLeave(now, reason, waitMs, c, q, meta[2]) -- wallboard buckets (issue 16)

c.position = cjson.null
local change = {
  queue_id = q.uuid, kind = 'caller_left', caller = c, reason = reason, wait_ms = waitMs, stats = readStats(q, now),
}
if from ~= cjson.null then change.line = { uuid = c.uuid, from = from, to = cjson.null, length = rcall('ZCARD', KEYS[4]) } end
return { emit(ARGV[1], now, change), routingIdle() }
