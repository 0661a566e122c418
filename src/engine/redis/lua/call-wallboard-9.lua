--[[
  Reads what the wallboard needs at one instant (src/engine/wallboard.ts): the queue's stats, its
  members' status and pause, and its wallboard buckets. Writes nothing.

  KEYS[1..9] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel outbox

  Returns: { stats JSON, { member JSON... }, { bucket field, bucket value, ... } }.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-read-stats"

local q = loadQueue()
local buckets = {}
local h = rcall('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if string.sub(h[i], 1, 1) == 'w' then
    buckets[#buckets + 1] = h[i]
    buckets[#buckets + 1] = h[i + 1]
  end
end
return { cjson.encode(readStats(q, nowMs())), rcall('HVALS', KEYS[6]), buckets }
