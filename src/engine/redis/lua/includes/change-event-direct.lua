--- @include "event-record"
--- @include "change-type"
-- Loaded in place of change-event.lua by a script recording straight into the log (scripts.ts
-- RecordingMode 'direct'; event-record-direct.lua): a call-queue change's event is the change
-- itself, with its event type and queue_id (change-type.lua); its traits are built by the node
-- that reads it (src/engine/redis/events.ts toLogged), from the same change, as the memory engine
-- builds them (events.ts changeEventValues and buildEvent).

-- Records a call-queue change's event, atomically with it. us: its time (µs text), nil: Redis's
-- clock now. json: the change's JSON, as published or without its stats (call-emit.lua; nil:
-- encoded here).
local function recordChange(outbox, change, us, json)
  local etype, queueId = changeType(change)
  return appendChange(etype, queueId, json or cjson.encode(change), us or eventMicros())
end
