--[[
  An agent's answer to an offer (protocol/routing.md section 4). accept: the caller connected with
  the agent, the member busy (its calls + 1, missed 0), the other agents' parts end
  (accepted_elsewhere). reject: the agent's part ends and it counts as activity (idle since now);
  the last part ending returns the caller to waiting at its place. Events: queue.caller.offer.accept
  or .reject, and .revoke for each agent an accept leaves out.

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  ARGV[1] change-log retention
  ARGV[2] offer id
  ARGV[3] agent uuid
  ARGV[4] accept | reject

  Returns: { next deadline ms or '', ended JSON, engagements JSON, change JSON... } where ended is
           { offer, agents: [{agent, reason}] } and engagements [{agent, offer_id, until_ms}]
           (until_ms -1: released, 0: on a call).
  Errors: call_queue_not_found, offer_not_found (none open, its caller gone or moved, or the
          agent no longer a member), offer_not_yours, offer_expired.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-line-score"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "call-count-member"
--- @include "route-caller-to"
--- @include "route-member-to"
--- @include "route-member-state"
--- @include "route-next-deadline"

local q = loadQueue()
local id, agent = ARGV[2], ARGV[3]
local raw = rcall('HGET', KEYS[10], id)
if not raw then fail('offer_not_found') end
local o = cjson.decode(raw)
local craw = rcall('HGET', KEYS[3], o.caller_id)
local c = craw and cjson.decode(craw)
if not c or c.status ~= 'ringing' then fail('offer_not_found') end
local mine = false
for _, a in ipairs(o.remaining) do if a == agent then mine = true end end
if not mine then fail('offer_not_yours') end
local mraw = rcall('HGET', KEYS[6], agent)
if not mraw then fail('offer_not_found') end
local now = nowMs()
if o.expires_ms <= now then fail('offer_expired') end

local m = cjson.decode(mraw)
local st = memberState(agent, m)
st.offer = cjson.null
local changes = {}
local ended = { offer = o, agents = {} }
local ids = { queue_id = q.uuid, caller_id = o.caller_id, offer_id = id, agent_id = agent }
recordEvent(KEYS[9], '', ARGV[4] == 'accept' and 'queue.caller.offer.accept' or 'queue.caller.offer.reject', ids)
local engagements = {}
if ARGV[4] == 'accept' then
  changes[#changes + 1] = callerTo(q, c, 'connected', agent, now, ARGV[1])
  st.calls = st.calls + 1
  st.missed = 0
  st.call_caller = o.caller_id
  st.call_offer = id
  saveMemberState(agent, st)
  local busy = memberTo(q, m, { status = 'busy' }, now, ARGV[1])
  if busy then changes[#changes + 1] = busy end
  ended.agents[1] = { agent = agent, reason = 'accepted' }
  engagements[1] = { agent = agent, offer_id = id, until_ms = 0 }
  for _, other in ipairs(o.remaining) do
    if other ~= agent then
      local oraw = rcall('HGET', KEYS[6], other)
      if oraw then
        local ost = memberState(other, cjson.decode(oraw))
        ost.offer = cjson.null
        saveMemberState(other, ost)
      end
      ended.agents[#ended.agents + 1] = { agent = other, reason = 'accepted_elsewhere' }
      recordEvent(KEYS[9], '', 'queue.caller.offer.revoke',
        { queue_id = q.uuid, caller_id = o.caller_id, offer_id = id, agent_id = other, reason = 'accepted_elsewhere' })
      engagements[#engagements + 1] = { agent = other, offer_id = id, until_ms = -1 }
    end
  end
  rcall('HDEL', KEYS[10], id)
  rcall('ZREM', KEYS[11], 'o:' .. id)
else
  st.idle_ms = now
  saveMemberState(agent, st)
  local left = {}
  for _, a in ipairs(o.remaining) do if a ~= agent then left[#left + 1] = a end end
  ended.agents[1] = { agent = agent, reason = 'rejected' }
  engagements[1] = { agent = agent, offer_id = id, until_ms = -1 }
  if #left == 0 then
    rcall('HDEL', KEYS[10], id)
    rcall('ZREM', KEYS[11], 'o:' .. id)
    changes[#changes + 1] = callerTo(q, c, 'waiting', cjson.null, now, ARGV[1])
  else
    o.remaining = left
    rcall('HSET', KEYS[10], id, cjson.encode(o))
  end
end
local nd = nextDeadline()
local out = { nd == cjson.null and '' or tostring(nd), cjson.encode(ended), cjson.encode(engagements) }
for _, ch in ipairs(changes) do out[#out + 1] = ch end
return out
