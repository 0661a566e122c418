-- The member `uuid` of the queue (KEYS[6], members hash) decoded, and its stored JSON; or
-- member_not_found.
local function loadMember(uuid)
  local raw = rcall('HGET', KEYS[6], uuid)
  if not raw then fail('member_not_found') end
  return cjson.decode(raw), raw
end
