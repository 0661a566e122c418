--- @include "change-event"
-- Gives the change the next seq, appends it to the capped log and publishes it, inside the script
-- that made it: subscribers receive changes in seq order and the log never has a hole. Its event
-- goes to the queue slot's outbox (KEYS[9]) in the same step, already typed (change-event.lua).
-- Arguments to rcall are text where they can be (here and in the call scripts): Redis spells a Lua
-- number argument with printf's %.17g, a few µs per number on a change that passes several.
local function emit(retention, now, change)
  change.seq = rcall('HINCRBY', KEYS[1], 'seq', '1')
  change.at_ms = now
  -- The change without its stats is what its event stores when recorded straight into the log
  -- (change-event-direct.lua): an event's traits read none of them, and they are about half of the
  -- change's text. The change as published is that text with the stats added.
  local stats = change.stats
  change.stats = nil
  local bare = cjson.encode(change)
  change.stats = stats
  local json = bare
  if stats ~= nil then json = string.sub(bare, 1, -2) .. ',"stats":' .. cjson.encode(stats) .. '}' end
  rcall('RPUSH', KEYS[7], json)
  rcall('LTRIM', KEYS[7], '-' .. retention, '-1')
  rcall('SPUBLISH', KEYS[8], json)
  -- The change's time (call-now.lua, included before this by every script that emits).
  recordChange(KEYS[9], change, eventNowUs(), bare)
  return json
end
