-- The queue record from KEYS[1] (meta hash, field q), or call_queue_not_found, and the meta
-- hash's fields named in `fields` (in order after q; false where absent), read with it in one
-- HMGET: a script that needs more of the meta hash reads it here, not in a second command.
local function loadQueueMeta(fields)
  local meta = rcall('HMGET', KEYS[1], 'q', unpack(fields))
  if not meta[1] then fail('call_queue_not_found') end
  return cjson.decode(meta[1]), meta
end

-- The queue record alone.
local function loadQueue()
  return (loadQueueMeta({}))
end
