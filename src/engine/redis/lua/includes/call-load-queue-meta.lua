-- The queue record from KEYS[1] (meta hash, field q), or call_queue_not_found, and the meta
-- hash's fields named in `fields` (in order; false where absent), read with it in one HMGET.
local function loadQueueMeta(fields)
  local meta = rcall('HMGET', KEYS[1], 'q', unpack(fields))
  if not meta[1] then fail('call_queue_not_found') end
  return cjson.decode(meta[1]), meta
end
