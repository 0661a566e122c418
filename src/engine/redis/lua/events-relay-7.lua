--[[
  Relays events from one outbox into an application's event log, idempotently: the log keeps, per
  outbox, the last stream id relayed from it, and skips entries at or below it (and any message_id
  it already holds), so a relay repeated after a crash or by another node adds nothing twice. Each
  new event gets the next seq, is indexed and published on the log's channel, in the order given
  (the outbox's order). Then retention trims the oldest (includes/event-trim.lua).

  KEYS[1..7] the application's event log, laid out in keys.ts (EventLogKeys):
             meta events ids index sources types channel

  ARGV[1] the outbox key (the source's name; never used as a key here)
  ARGV[2] retention cutoff, µs since the epoch (older events are reclaimed)
  ARGV[3] retention size bound (events kept at most)
  ARGV[4..] pairs: stream id, event record JSON {us, m (index members), event}

  Returns: { last seq of the log, number of events appended }.
]]
local rcall = redis.call
--- @include "event-trim"

local function idLess(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end

local done = rcall('HGET', KEYS[5], ARGV[1])
local appended = 0
local lastId = done
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if done == false or idLess(done, id) then
    local rec = cjson.decode(ARGV[i + 1])
    local mid = rec.event.message_id
    if rcall('HEXISTS', KEYS[3], mid) == 0 then
      local seq = rcall('HINCRBY', KEYS[1], 'seq', 1)
      if seq == 1 then rcall('HSET', KEYS[1], 'first', 1) end
      -- Spliced, not re-encoded: cjson would round `us` (16 digits) to 14.
      local json = '{"seq":' .. seq .. ',' .. string.sub(ARGV[i + 1], 2)
      rcall('HSET', KEYS[2], seq, json)
      rcall('HSET', KEYS[3], mid, seq)
      for _, m in ipairs(rec.m) do rcall('ZADD', KEYS[4], 0, m) end
      local etype = rec.event.event_type
      local known = rcall('HGET', KEYS[6], etype)
      local traits = known and cjson.decode(known) or {}
      local grew = not known
      for _, t in ipairs(rec.event.traits) do
        if traits[t.name] == nil then
          traits[t.name] = t.type
          grew = true
        end
      end
      if grew then rcall('HSET', KEYS[6], etype, cjson.encode(traits)) end
      rcall('SPUBLISH', KEYS[7], json)
      appended = appended + 1
    end
    lastId = id
  end
end
if lastId and lastId ~= done then rcall('HSET', KEYS[5], ARGV[1], lastId) end
trimLog(tonumber(ARGV[2]), tonumber(ARGV[3]), 1000)
return { tonumber(rcall('HGET', KEYS[1], 'seq') or '0'), appended }
