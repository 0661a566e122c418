-- Loaded in place of event-record.lua and change-event.lua when the node records no events
-- (config.ts `events: false`; scripts.ts loadLua): the same functions, doing nothing.
local function recordEvent(outbox, app, etype, values) end
local function recordTraits(outbox, etype, traits, queueId, us) end
local function recordChange(outbox, change, us, json) end
