--[[
  A caller joins a call queue's waiting line; announces caller_joined with its position and the
  line move (inserted at that index: everyone behind it moves down by one).

  KEYS[1..12] the call queue's nine keys, then its routing keys (read only here: routing's
              idleness), laid out in keys.ts (CallQueueKeys, RoutingQueueKeys)

  ARGV[1] change-log retention
  ARGV[2] caller JSON: uuid (fresh), name, number, priority, estimated_wait (when the node computed it)
  ARGV[3] the caller's estimates for a window of places (includes/call-join-window.lua): its
          estimated_wait is the one for the place it takes; '': none (ARGV[2]'s is kept)

  Returns: { change JSON (its caller: the caller with its position), routing idle after the
           change: 1 or 0 (includes/route-idle.lua; the router then skips its own read) };
           { false, 0 } (nil, 0 to the node): the place is outside ARGV[3]'s window, nothing was
           written (the node counts the line and joins with its own estimate).
  Errors: call_queue_not_found, queue_disabled.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-line-score"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "call-wallboard"
--- @include "route-idle"
--- @include "call-join-window"

-- The queue, the wallboard's last minute opened and the last join number, in one read.
local q, meta = loadQueueMeta({ 'wb', 'joinseq' })
if q.disabled then fail('queue_disabled') end

local c = cjson.decode(ARGV[2])
-- The place the caller takes, when the window asks for it before the first write (then its ZRANK),
-- and its line score then (the one its join number below gives it, not spelled twice).
local place, score
if ARGV[3] ~= nil and ARGV[3] ~= '' then
  -- The place it takes, before the first write: the callers scored below the score its join number
  -- (the next joinseq) gives it, which is its ZRANK once added.
  score = lineScore(c.priority, (tonumber(meta[3]) or 0) + 1)
  place = rcall('ZCOUNT', KEYS[4], '-inf', '(' .. score)
  local estimate, inside = joinWindowEstimate(ARGV[3], place)
  if not inside then return { false, 0 } end
  c.estimated_wait = estimate
end
local now = nowMs()
c.join_seq = rcall('HINCRBY', KEYS[1], 'joinseq', '1')
c.status = 'waiting'
c.status_ms = now
c.created_ms = now
c.member_uuid = cjson.null
c.connected_ms = cjson.null
rcall('ZADD', KEYS[4], score or lineScore(c.priority, c.join_seq), c.uuid)
local position = place or rcall('ZRANK', KEYS[4], c.uuid)
rcall('HSET', KEYS[3], c.uuid, cjson.encode(c))
rcall('ZADD', KEYS[5], nowMsText(), c.uuid)

wallboardAdd(now, { 1 }, meta[2]) -- wallboard: offered (issue 16)

c.position = position
local line = { uuid = c.uuid, from = cjson.null, to = c.position, length = rcall('ZCARD', KEYS[4]) }
return { emit(ARGV[1], now, {
  queue_id = q.uuid, kind = 'caller_joined', caller = c, line = line, stats = readStats(q, now),
}), routingIdle() }
