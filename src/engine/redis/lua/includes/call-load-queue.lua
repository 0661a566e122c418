-- The queue record from KEYS[1] (meta hash, field q), or call_queue_not_found.
local function loadQueue()
  local raw = rcall('HGET', KEYS[1], 'q')
  if not raw then fail('call_queue_not_found') end
  return cjson.decode(raw)
end
