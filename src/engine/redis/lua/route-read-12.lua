--[[
  Reads what a routing decision needs, at one instant (protocol/routing.md section 5, step 1).
  Writes nothing.

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  Returns: { settings JSON or '', seq, now ms, { waiting caller JSON... in position order },
             { member JSON... }, { 'm:<agent>', state JSON, ... }, { offer JSON... }, rr or '' };
           for a manual queue the four lists are empty and rr is ''.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"

loadQueue()
local settings = rcall('HGET', KEYS[12], 's') or ''
-- A manual queue (the default: no settings stored) makes no offers: the router stops at its
-- settings, so a queue of many waiting callers does not pay for a full read at every change.
local strategy = settings ~= '' and cjson.decode(settings).strategy or nil
if strategy == nil or strategy == 'manual' then
  return { settings, tonumber(rcall('HGET', KEYS[1], 'seq')), nowMs(), {}, {}, {}, {}, '' }
end
local line = rcall('ZRANGE', KEYS[4], 0, -1)
local waiting = {}
if #line > 0 then waiting = rcall('HMGET', KEYS[3], unpack(line)) end
local states = {}
local all = rcall('HGETALL', KEYS[12])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'm:' then
    states[#states + 1] = all[i]
    states[#states + 1] = all[i + 1]
  end
end
return {
  settings,
  tonumber(rcall('HGET', KEYS[1], 'seq')),
  nowMs(),
  waiting,
  rcall('HVALS', KEYS[6]),
  states,
  rcall('HVALS', KEYS[10]),
  rcall('HGET', KEYS[12], 'rr') or '',
}
