-- A member's routing state (protocol/routing.md section 1) in the queue's routing hash (KEYS[12],
-- field 'm:<agent>'), with its defaults for a member that has none yet: idle since it was added.
local function memberState(agent, member)
  local raw = rcall('HGET', KEYS[12], 'm:' .. agent)
  if raw then return cjson.decode(raw) end
  return { penalty = 0, calls = 0, missed = 0, idle_ms = member.created_ms, wrapup_ms = cjson.null, offer = cjson.null,
           call_caller = cjson.null, call_offer = cjson.null }
end

local function saveMemberState(agent, st)
  rcall('HSET', KEYS[12], 'm:' .. agent, cjson.encode(st))
end
