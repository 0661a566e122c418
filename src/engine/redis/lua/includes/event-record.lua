-- Records one event into this script's slot outbox, in the same atomic step as the change it
-- describes (protocol/events.md "Recording an event"; src/engine/events.ts).
--   outbox  the slot's outbox key, passed in KEYS (keys.ts: a partition's outbox, a call queue's
--           or an application's call keys' last key, RedisKeys.metaOutbox)
--   app     the application; '' in a slot of one application (call queue, call app, partition):
--           the relay knows it from the outbox's registration
--   etype   the dotted event type (events.ts EVENT_TYPES), or '@change' for a call-queue change
--   values  a table trait name -> value (types come from the catalogue), or for '@change' the
--           change JSON the script emitted
-- The relay (src/engine/redis/events.ts) gives the event its message_id and seq in the log.
local function recordEvent(outbox, app, etype, values)
  local t = redis.call('TIME')
  local us = string.format('%d', tonumber(t[1])) .. string.format('%06d', tonumber(t[2]))
  local v = values
  if type(values) == 'table' then
    v = next(values) == nil and '{}' or cjson.encode(values)
  end
  return redis.call('XADD', outbox, '*', 'a', app, 't', etype, 'u', us, 'v', v)
end
