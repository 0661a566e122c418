--[[
  Makes a decision's offers, only if the queue has not changed since the decision read it
  (protocol/routing.md section 5, step 4): each caller becomes ringing (member_uuid the agent, or
  null for ring_all) and leaves the line, each agent's member state holds the offer, each offer's
  expiry is a deadline. One caller_updated change and one queue.caller.offer event per offer.

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  ARGV[1] change-log retention
  ARGV[2] the seq the decision read
  ARGV[3] JSON array of offers: offer_id, queue_id, caller_id, agents, strategy, created_at,
          expires_at, plus expires_ms

  Returns: { 'stale' } when seq moved; else { 'ok', next deadline ms or '', change JSON... }.
  Errors: call_queue_not_found.
]]
local rcall = redis.call
--- @include "call-fail"
--- @include "call-now"
--- @include "call-load-queue"
--- @include "call-line-score"
--- @include "call-read-stats"
--- @include "call-emit"
--- @include "route-caller-to"
--- @include "route-member-state"
--- @include "route-next-deadline"

local q = loadQueue()
if tonumber(rcall('HGET', KEYS[1], 'seq')) ~= tonumber(ARGV[2]) then return { 'stale' } end
local now = nowMs()
local out = { 'ok', '' }
for _, o in ipairs(cjson.decode(ARGV[3])) do
  local c = cjson.decode(rcall('HGET', KEYS[3], o.caller_id))
  local ringAll = o.strategy == 'ring_all'
  out[#out + 1] = callerTo(q, c, 'ringing', ringAll and cjson.null or o.agents[1], now, ARGV[1])
  for _, a in ipairs(o.agents) do
    local member = cjson.decode(rcall('HGET', KEYS[6], a))
    local st = memberState(a, member)
    st.offer = o.offer_id
    saveMemberState(a, st)
  end
  o.remaining = o.agents
  rcall('HSET', KEYS[10], o.offer_id, cjson.encode(o))
  rcall('ZADD', KEYS[11], o.expires_ms, 'o:' .. o.offer_id)
  recordEvent(KEYS[9], '', 'queue.caller.offer', {
    queue_id = q.uuid, caller_id = o.caller_id, offer_id = o.offer_id, agents = table.concat(o.agents, ','),
    strategy = o.strategy, expires_at = o.expires_at,
  })
  if not ringAll then rcall('HSET', KEYS[12], 'rr', o.agents[1]) end
end
local nd = nextDeadline()
if nd ~= cjson.null then out[2] = tostring(nd) end
return out
