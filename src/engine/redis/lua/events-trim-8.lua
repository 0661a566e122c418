--[[
  Retention of an application's event log (the periodic sweep's step for logs without new events;
  the relay trims as it appends): includes/event-trim.lua, at most ARGV[3] events per call.

  KEYS[1..8] the application's event log, laid out in keys.ts (EventLogKeys):
             meta records time sources types channel byType byQueue (the last two: key prefixes)

  ARGV[1] retention cutoff, µs since the epoch
  ARGV[2] retention size bound
  ARGV[3] budget: events removed at most by this call

  Returns: the number of events removed.
]]
local rcall = redis.call
--- @include "event-trim"

return trimLog(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
