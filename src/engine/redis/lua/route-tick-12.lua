--[[
  Fires a queue's due routing deadlines and tidies what changed under routing, at Redis's TIME, in
  one step, so each fires once whichever nodes tick (protocol/routing.md section 6):
  - an offer whose caller left or was moved by the PBX ends for every agent (caller_left/revoked);
    an agent no longer a member leaves it (revoked); an expired one ends (expired): each such
    member's missed + 1, a member reaching autopause_after_missed is paused (reason autopause);
    the last part ending returns a still-ringing caller to waiting;
  - a member whose routed call ended (its caller left, or is no longer connected to it) goes to
    wrapup until now + wrapup_seconds (a deadline), or available at once;
  - a wrap-up that ended makes the member available (idle since now).
  Events: queue.caller.offer.timeout / .revoke per agent part ended (the changes record theirs).

  KEYS[1..9]  the call queue's keys, laid out in keys.ts (CallQueueKeys):
              meta stats callers line age members log channel outbox
  KEYS[10]    offers     HASH  offer id -> offer JSON (+ remaining: agents whose part is open)
  KEYS[11]    deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
  KEYS[12]    routing    HASH  s: settings JSON; rr: agent last offered (round_robin); m:<agent>: member state

  ARGV[1] change-log retention

  Returns: as route-answer-12.lua: { next deadline ms or '', ended JSON array, engagements JSON, change JSON... }.
  Errors: call_queue_not_found.
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
--- @include "route-settings"
--- @include "route-next-deadline"

local q = loadQueue()
local now = nowMs()
local s = routeSettings() or { wrapup_seconds = 0, autopause_after_missed = 0 }
local changes, ended, engagements = {}, {}, {}
local function add(ch) if ch then changes[#changes + 1] = ch end end

for _, raw in ipairs(rcall('HVALS', KEYS[10])) do
  local o = cjson.decode(raw)
  local craw = rcall('HGET', KEYS[3], o.caller_id)
  local c = craw and cjson.decode(craw)
  local ringing = false
  if c and c.status == 'ringing' then
    if c.member_uuid == cjson.null then ringing = true end
    for _, a in ipairs(o.remaining) do if a == c.member_uuid then ringing = true end end
  end
  local left, parts = {}, {}
  for _, a in ipairs(o.remaining) do
    local mraw = rcall('HGET', KEYS[6], a)
    local reason = nil
    if not ringing then reason = c and 'revoked' or 'caller_left'
    elseif not mraw then reason = 'revoked'
    elseif o.expires_ms <= now then reason = 'expired' end
    if reason == nil then
      left[#left + 1] = a
    else
      parts[#parts + 1] = { agent = a, reason = reason }
      local ids = { queue_id = q.uuid, caller_id = o.caller_id, offer_id = o.offer_id, agent_id = a }
      if reason == 'expired' then
        recordEvent(KEYS[9], '', 'queue.caller.offer.timeout', ids)
      else
        ids.reason = reason
        recordEvent(KEYS[9], '', 'queue.caller.offer.revoke', ids)
      end
      engagements[#engagements + 1] = { agent = a, offer_id = o.offer_id, until_ms = -1 }
      if mraw then
        local m = cjson.decode(mraw)
        local st = memberState(a, m)
        st.offer = cjson.null
        if reason == 'expired' then
          st.missed = st.missed + 1
          local limit = s.autopause_after_missed or 0
          if limit > 0 and st.missed >= limit then
            st.missed = 0
            add(memberTo(q, m, { paused = true, pause_reason = 'autopause' }, now, ARGV[1]))
          end
        end
        saveMemberState(a, st)
      end
    end
  end
  if #parts > 0 then ended[#ended + 1] = { offer = o, agents = parts } end
  if #left == 0 then
    rcall('HDEL', KEYS[10], o.offer_id)
    rcall('ZREM', KEYS[11], 'o:' .. o.offer_id)
    if ringing then add(callerTo(q, c, 'waiting', cjson.null, now, ARGV[1])) end
  elseif #parts > 0 then
    o.remaining = left
    rcall('HSET', KEYS[10], o.offer_id, cjson.encode(o))
  end
end

local all = rcall('HGETALL', KEYS[12])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'm:' then
    local agent = string.sub(all[i], 3)
    local st = cjson.decode(all[i + 1])
    local mraw = rcall('HGET', KEYS[6], agent)
    if not mraw then
      -- Removed: what it was engaged for in this queue (a call, a wrap-up) ends with it.
      rcall('HDEL', KEYS[12], all[i])
      rcall('ZREM', KEYS[11], 'w:' .. agent)
      if st.call_offer ~= cjson.null and st.call_offer ~= nil then
        engagements[#engagements + 1] = { agent = agent, offer_id = st.call_offer, until_ms = -1 }
      end
    else
      local m = cjson.decode(mraw)
      if st.call_caller ~= cjson.null and st.call_caller ~= nil then
        local craw = rcall('HGET', KEYS[3], st.call_caller)
        local c = craw and cjson.decode(craw)
        if not (c and c.status == 'connected' and c.member_uuid == agent) then
          local offerId = st.call_offer
          st.call_caller = cjson.null
          st.call_offer = cjson.null
          local wrapMs = (s.wrapup_seconds or 0) * 1000
          if m.status == 'busy' and wrapMs > 0 then
            st.wrapup_ms = now + wrapMs
            rcall('ZADD', KEYS[11], st.wrapup_ms, 'w:' .. agent)
            add(memberTo(q, m, { status = 'wrapup' }, now, ARGV[1]))
            engagements[#engagements + 1] = { agent = agent, offer_id = offerId, until_ms = st.wrapup_ms }
          else
            st.idle_ms = now
            if m.status == 'busy' then add(memberTo(q, m, { status = 'available' }, now, ARGV[1])) end
            engagements[#engagements + 1] = { agent = agent, offer_id = offerId, until_ms = -1 }
          end
          saveMemberState(agent, st)
        end
      elseif st.wrapup_ms ~= cjson.null and st.wrapup_ms ~= nil and st.wrapup_ms <= now then
        st.wrapup_ms = cjson.null
        st.idle_ms = now
        rcall('ZREM', KEYS[11], 'w:' .. agent)
        if m.status == 'wrapup' then add(memberTo(q, m, { status = 'available' }, now, ARGV[1])) end
        saveMemberState(agent, st)
      end
    end
  end
end

local nd = nextDeadline()
local out = {
  nd == cjson.null and '' or tostring(nd),
  #ended == 0 and '[]' or cjson.encode(ended),
  #engagements == 0 and '[]' or cjson.encode(engagements),
}
for _, ch in ipairs(changes) do out[#out + 1] = ch end
return out
