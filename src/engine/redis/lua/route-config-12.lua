--[[
  A queue's routing settings and members' tiers (protocol/routing.md section 1), and reads of its
  open offers.

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  ARGV[1] get                 -> settings JSON or ''
          set <JSON>          -> 'ok' (the settings replace the stored ones)
          member <agent>      -> { member JSON, state JSON or '' }
          penalty <agent> <n> -> { member JSON, state JSON }
          offers              -> { offer JSON... }
          idle                -> 1 when routing has nothing to do in the queue, else 0: strategy manual,
                                 no open offer, no deadline, and no member state holding an offer, a
                                 routed call or a wrap-up, or left by a removed member (what route-tick
                                 would fire or tidy; a manual queue's read decides nothing)

  Errors: call_queue_not_found, member_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-load-queue"
--- @include "route-member-state"

loadQueue()
local mode = ARGV[1]
if mode == 'get' then return rcall('HGET', KEYS[12], 's') or '' end
if mode == 'set' then
  rcall('HSET', KEYS[12], 's', ARGV[2])
  return 'ok'
end
if mode == 'offers' then return rcall('HVALS', KEYS[10]) end
if mode == 'idle' then
  if rcall('HLEN', KEYS[10]) > 0 or rcall('ZCARD', KEYS[11]) > 0 then return 0 end
  local all = rcall('HGETALL', KEYS[12])
  for i = 1, #all, 2 do
    local field = all[i]
    if field == 's' then
      if cjson.decode(all[i + 1]).strategy ~= 'manual' then return 0 end
    elseif string.sub(field, 1, 2) == 'm:' then
      local st = cjson.decode(all[i + 1])
      if st.offer ~= cjson.null or st.call_caller ~= cjson.null or st.wrapup_ms ~= cjson.null then return 0 end
      if rcall('HEXISTS', KEYS[6], string.sub(field, 3)) == 0 then return 0 end
    end
  end
  return 1
end
local mraw = rcall('HGET', KEYS[6], ARGV[2])
if not mraw then fail('member_not_found') end
local st = memberState(ARGV[2], cjson.decode(mraw))
if mode == 'penalty' then
  st.penalty = tonumber(ARGV[3])
  saveMemberState(ARGV[2], st)
end
return { mraw, cjson.encode(st) }
