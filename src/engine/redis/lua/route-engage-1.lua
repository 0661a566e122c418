--[[
  Agents' engagements in their application's slot (protocol/routing.md section 5): an agent holds
  at most one offer, call or wrap-up across all its queues. A record is {offer, queue, until_ms}:
  until_ms 0 while on a call, else the time it ends by itself (an offer's expiry, a wrap-up's end),
  so a node dying between two steps never leaves an agent engaged for longer than that.

  KEYS[1] engaged  HASH  agent uuid -> engagement JSON

  ARGV[1] engage <offer id> <queue id> <until ms> <agent>...  -> the agents engaged (those free:
          no record, or one that ended by itself)
          follow <JSON [{agent, offer_id, until_ms}]>       -> 'ok'; compare-and-set by offer id:
          until_ms -1 releases, else sets until_ms
          read <agent>...                                     -> for each, its record JSON or ''

  Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local mode = ARGV[1]
if mode == 'engage' then
  local now = nowMs()
  local got = {}
  local record = cjson.encode({ offer = ARGV[2], queue = ARGV[3], until_ms = tonumber(ARGV[4]) })
  for i = 5, #ARGV do
    local raw = rcall('HGET', KEYS[1], ARGV[i])
    local free = true
    if raw then
      local e = cjson.decode(raw)
      free = e.until_ms ~= 0 and e.until_ms <= now
    end
    if free then
      rcall('HSET', KEYS[1], ARGV[i], record)
      got[#got + 1] = ARGV[i]
    end
  end
  return got
end
if mode == 'follow' then
  for _, u in ipairs(cjson.decode(ARGV[2])) do
    local raw = rcall('HGET', KEYS[1], u.agent)
    if raw then
      local e = cjson.decode(raw)
      if e.offer == u.offer_id then
        if u.until_ms == -1 then
          rcall('HDEL', KEYS[1], u.agent)
        else
          e.until_ms = u.until_ms
          rcall('HSET', KEYS[1], u.agent, cjson.encode(e))
        end
      end
    end
  end
  return 'ok'
end
local out = {}
for i = 2, #ARGV do out[#out + 1] = rcall('HGET', KEYS[1], ARGV[i]) or '' end
return out
