--[[
  Deletes a call queue with its callers, members, change log and routing state, and announces
  queue_deleted (the last seq) so subscribers learn the queue is gone.

  KEYS[1..12] the call queue's nine keys (CallQueueKeys: meta stats callers line age members log
              channel outbox), then its routing keys (RoutingQueueKeys: offers deadlines routing),
              laid out in keys.ts; the routing keys are deleted with it, as nothing reads them once
              the queue is gone (its uuid is never used again)

  Returns: { change JSON, agent uuid of each removed member... } (the caller unlinks those agents).
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "change-event"

local q = loadQueue()
local now = nowMs()
local out = { '' }
for _, agent in ipairs(rcall('HKEYS', KEYS[6])) do out[#out + 1] = agent end
local seq = rcall('HINCRBY', KEYS[1], 'seq', 1)
local change = { queue_id = q.uuid, seq = seq, at_ms = now, kind = 'queue_deleted', queue = q }
out[1] = cjson.encode(change)
rcall('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[10], KEYS[11], KEYS[12])
rcall('SPUBLISH', KEYS[8], out[1])
recordChange(KEYS[9], change, nil, out[1])
return out
