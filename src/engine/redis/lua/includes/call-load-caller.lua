-- The caller `uuid` of the queue (KEYS[3], callers hash) decoded, and its stored JSON; or
-- caller_not_found.
local function loadCaller(uuid)
  local raw = rcall('HGET', KEYS[3], uuid)
  if not raw then fail('caller_not_found') end
  return cjson.decode(raw), raw
end
