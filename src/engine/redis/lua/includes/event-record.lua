--- @include "event-micros"
-- Records one event into this script's slot outbox, in the same atomic step as the change it
-- describes (protocol/events.md "Recording an event"; src/engine/events.ts).
--   outbox  the slot's outbox key, passed in KEYS (keys.ts: a partition's outbox, a call queue's
--           or an application's call keys' last key, RedisKeys.metaOutbox)
--   app     the application; '' in a slot of one application (call queue, call app, partition):
--           the relay knows it from the outbox's registration
--   etype   the dotted event type (events.ts EVENT_TYPES)
--   values  a table trait name -> value (types come from the catalogue, applied by the relay)
-- The relay (src/engine/redis/events.ts) gives the event its message_id and seq in the log.

local function recordEvent(outbox, app, etype, values)
  local v = values
  if type(values) == 'table' then
    v = next(values) == nil and '{}' or cjson.encode(values)
  end
  return redis.call('XADD', outbox, '*', 'a', app, 't', etype, 'u', eventMicros(), 'v', v)
end

-- The same for an event whose traits the script already wrote typed, in the log's JSON (the
-- comma-separated trait objects after project_id; includes/change-event.lua), and the queue_id it
-- is indexed by ('' none): the relay moves such an entry without decoding it (field j, not v).
-- us: its time (µs text; includes/call-now.lua eventNowUs), nil: Redis's clock now. No field `a`:
-- such an entry is always of its slot's application (the relay knows it from the registration).
local function recordTraits(outbox, etype, traits, queueId, us)
  return redis.call('XADD', outbox, '*', 't', etype, 'u', us or eventMicros(), 'j', traits, 'q', queueId)
end
