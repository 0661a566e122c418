-- Retention of one application's event log (KEYS[1..7] as EventLogKeys): removes events from the
-- oldest seq on while there are more than maxEvents or the oldest was generated before cutoffUs,
-- at most `budget` per call (the caller calls again while it returns budget). Oldest by seq is
-- oldest by relay; an event relayed late (after a crash) may outlive its age by the delay.
-- Returns how many were removed.
local function trimLog(cutoffUs, maxEvents, budget)
  local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
  local first = tonumber(redis.call('HGET', KEYS[1], 'first') or '1')
  local removed = 0
  while first <= last and removed < budget do
    local json = redis.call('HGET', KEYS[2], first)
    if json then
      -- Read `us` from the text (every relay looks at the oldest event; decoding it is for removal).
      if last - first + 1 <= maxEvents and tonumber(string.match(json, '"us":(%d+)')) >= cutoffUs then break end
      local rec = cjson.decode(json)
      redis.call('HDEL', KEYS[2], first)
      redis.call('HDEL', KEYS[3], rec.event.message_id)
      redis.call('ZREM', KEYS[4], unpack(rec.m))
    end
    first = first + 1
    removed = removed + 1
  end
  if removed > 0 then redis.call('HSET', KEYS[1], 'first', first) end
  return removed
end
