--[[
  A waiting caller becomes a callback (protocol/calls.md section 3.1): the number to call back is
  recorded on the caller, which keeps its place in the waiting line (its score is untouched, so no
  line move); announces caller_updated with changed = { 'callback' }. The same number again changes
  nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  ARGV[1] change-log retention
  ARGV[2] caller uuid
  ARGV[3] the number to call back; '': the caller's own

  Returns: { caller JSON with position, change JSON } or { caller JSON } when nothing changed.
  Errors: call_queue_not_found, caller_not_found, invalid_transition:status (not waiting).
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-load-caller"
--- @include "call-read-stats"
--- @include "call-emit"

local q = loadQueue()
local c = loadCaller(ARGV[2])
if c.status ~= 'waiting' then fail('invalid_transition', 'status') end
local number = ARGV[3]
if number == '' then number = c.number end
if c.callback ~= nil and c.callback ~= cjson.null and c.callback.number == number then
  c.position = rcall('ZRANK', KEYS[4], c.uuid)
  return { cjson.encode(c) }
end

local now = nowMs()
c.callback = { number = number, requested_ms = now }
rcall('HSET', KEYS[3], c.uuid, cjson.encode(c))
c.position = rcall('ZRANK', KEYS[4], c.uuid)
local change = { queue_id = q.uuid, kind = 'caller_updated', caller = c, changed = { 'callback' }, stats = readStats(q, now) }
return { cjson.encode(c), emit(ARGV[1], now, change) }
