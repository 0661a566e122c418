--[[
  Reads everything a subscriber starts from, atomically: queue, seq, waiting line, callers,
  members and stats at one instant. Writes nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  Returns: { queue JSON, seq, { waiting caller uuids in position order }, { caller JSON... },
             { member JSON... }, stats JSON }.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"

local q = loadQueue()
return {
  rcall('HGET', KEYS[1], 'q'),
  tonumber(rcall('HGET', KEYS[1], 'seq')),
  rcall('ZRANGE', KEYS[4], 0, -1),
  rcall('HVALS', KEYS[3]),
  rcall('HVALS', KEYS[6]),
  cjson.encode(readStats(q, nowMs())),
}
