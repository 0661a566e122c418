--[[
  A queue's routing settings and members' tiers (protocol/routing.md section 1), and reads of its
  open offers.

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  ARGV[1] get                 -> settings JSON or ''
          set <JSON>          -> settings JSON: the fields given over the stored ones (a PUT's
                                 subset, merged here so that concurrent PUTs of different fields
                                 both hold; an empty list may come back as {})
          member <agent>      -> { member JSON, state JSON or '' }
          penalty <agent> <n> -> { member JSON, state JSON }
          offers              -> { offer JSON... }
          idle                -> 1 when routing has nothing to do in the queue, else 0
                                 (includes/route-idle.lua)

  Errors: call_queue_not_found, member_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-load-queue"
--- @include "route-member-state"
--- @include "route-idle"

loadQueue()
local mode = ARGV[1]
if mode == 'get' then return rcall('HGET', KEYS[12], 's') or '' end
if mode == 'set' then
  local cur = rcall('HGET', KEYS[12], 's')
  local settings = cur and cjson.decode(cur) or {}
  for field, value in pairs(cjson.decode(ARGV[2])) do settings[field] = value end
  local json = cjson.encode(settings)
  rcall('HSET', KEYS[12], 's', json)
  return json
end
if mode == 'offers' then return rcall('HVALS', KEYS[10]) end
if mode == 'idle' then return routingIdle() end
local mraw = rcall('HGET', KEYS[6], ARGV[2])
if not mraw then fail('member_not_found') end
local st = memberState(ARGV[2], cjson.decode(mraw))
if mode == 'penalty' then
  st.penalty = tonumber(ARGV[3])
  saveMemberState(ARGV[2], st)
end
return { mraw, cjson.encode(st) }
