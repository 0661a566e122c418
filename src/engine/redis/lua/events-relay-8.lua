--[[
  Relays events from outboxes into an application's event log, idempotently: the log keeps, per
  outbox, the last stream id relayed from it, and skips entries at or below it, so a relay repeated
  after a crash or by another node adds nothing twice. (That mark is written by the same atomic
  call, in the same slot, as the events it covers: a failover of the log's primary keeps or loses
  both together, never one. A message_id is the SHA-1 of its outbox and stream id: an entry not
  covered by the mark has no event in the log, so no per-event check of the message_id is made.) Each
  new event gets the next seq, is indexed and published on the log's channel, in the order given
  (the outbox's order). Then retention trims the oldest (includes/event-trim.lua).

  The relay hands over each outbox entry's fields as they are (the traits already typed and
  encoded by the script that recorded it, lua/includes/change-event.lua), so that nothing is decoded
  or encoded per event outside this script; here the event is assembled around them: its
  message_id (a UUIDv7 from the entry's time and the SHA-1 of "<outbox>|<stream id>", so any node
  relaying the entry makes the same), `generated`, its index entries (keys.ts EventLogKeys: score
  the generated µs, member `<message_id><seq>`, in the time index, its type's and its queue's) and
  the record (events.ts StoredRecord). Redis work per event: one field of one HSET and one entry of
  each index ZADD, every command batched over the call's events, and one SPUBLISH per call. The traits are not read here: the relay names those the
  log's types catalogue may not have yet (usually none), and only then is the catalogue decoded
  (once per event type per call) and rewritten.

  KEYS[1..8] the application's event log, laid out in keys.ts (EventLogKeys):
             meta records time sources types channel byType byQueue (the last two: key prefixes)

  ARGV[1] retention cutoff, µs since the epoch (older events are reclaimed)
  ARGV[2] retention size bound (events kept at most)
  ARGV[3] the application (the project_id trait)
  ARGV[4..] one section per outbox relayed (one call takes the entries of several outboxes, so its
            fixed cost is shared by more events): the outbox key (the source's name; never used as
            a key here), the number of its entries, then per entry six: stream id, generated (µs
            since the epoch), event type, queue_id ('' none), the traits after project_id as
            comma-separated trait objects ('' none), and the traits to add to the type's
            catalogue as a JSON object name -> type ('' none)

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

-- events.ts isoMicros: YYYY-MM-DDTHH:MM:SS.ffffffZ (days to a civil date: H. Hinnant's algorithm).
-- The events of one call are mostly of one second: its text up to the fraction is kept.
local isoSecs, isoText = nil, nil
local function isoMicros(us)
  local secs = math.floor(us / 1000000)
  local frac = us - secs * 1000000
  if secs == isoSecs then return isoText .. string.format('%06dZ', frac) end
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  isoSecs = secs
  isoText = string.format('%04d-%02d-%02dT%02d:%02d:%02d.', y, m, d, math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60)
  return isoText .. string.format('%06dZ', frac)
end

-- events.ts uuidv7(ms, entropy). The text of the last ms is kept (a call's events share a few).
local VARIANT = { ['0'] = '8', ['1'] = '9', ['2'] = 'a', ['3'] = 'b', ['4'] = '8', ['5'] = '9', ['6'] = 'a', ['7'] = 'b',
  ['8'] = '8', ['9'] = '9', a = 'a', b = 'b', c = '8', d = '9', e = 'a', f = 'b' }
local uuidMs, uuidHead = nil, nil
local function uuidv7(ms, e)
  if ms ~= uuidMs then
    local t = string.format('%012x', ms)
    uuidMs = ms
    uuidHead = string.sub(t, 1, 8) .. '-' .. string.sub(t, 9, 12) .. '-7'
  end
  return uuidHead .. string.sub(e, 1, 3) .. '-' .. VARIANT[string.sub(e, 4, 4)] .. string.sub(e, 5, 7) .. '-' .. string.sub(e, 8, 19)
end

-- A string's JSON without its quotes (cjson.encode is C; kept per value for the call).
local inner = {}
local function jsonInner(v)
  local t = inner[v]
  if t == nil then
    t = string.sub(cjson.encode(v), 2, -2)
    inner[v] = t
  end
  return t
end

local seq = tonumber(rcall('HGET', KEYS[1], 'seq') or '0')
local appended = 0
local projectTrait = '{"name":"project_id","type":"string","value":' .. cjson.encode(ARGV[3]) .. '}'
local types = {}
-- Batched over the call's events (one command per key, unpack's bound 8000 arguments respected by
-- flushing at 4000): score/member pairs per index key, seq/record pairs, the records published.
local index = {}
local indexKeys = {}
local function indexAdd(key, score, member)
  local list = index[key]
  if list == nil then
    list = {}
    index[key] = list
    indexKeys[#indexKeys + 1] = key
  end
  local n = #list
  list[n + 1] = score
  list[n + 2] = member
  if n + 2 >= 4000 then
    rcall('ZADD', key, unpack(list))
    index[key] = {}
  end
end
local records = {}
local published = {}
local i = 4
while i <= #ARGV do
  local outbox = ARGV[i]
  local groups = tonumber(ARGV[i + 1])
  local done = rcall('HGET', KEYS[4], outbox)
  local lastId = done
  -- The entries are in stream order: once one is after `done`, so are the rest.
  local after = done == false
  for g = i + 2, i + 1 + groups * 6, 6 do
    local id = ARGV[g]
    after = after or idLess(done, id)
    if after then
      local usText = ARGV[g + 1]
      local us = tonumber(usText)
      local mid = uuidv7(math.floor(us / 1000), redis.sha1hex(outbox .. '|' .. id))
      seq = seq + 1
      if seq == 1 then rcall('HSET', KEYS[1], 'first', 1) end
      local etype = ARGV[g + 2]
      local queueId = ARGV[g + 3]
      local traits = ARGV[g + 4]
      local member = mid .. seq
      indexAdd(KEYS[3], usText, member)
      indexAdd(KEYS[7] .. etype, usText, member)
      local q = ''
      if queueId ~= '' then
        indexAdd(KEYS[8] .. queueId, usText, member)
        q = ',"q":"' .. jsonInner(queueId) .. '"'
      end
      local json = '{"seq":' .. seq .. ',"us":' .. usText .. q .. ',"event":{"message_id":"' .. mid ..
        '","event_type":"' .. jsonInner(etype) .. '","generated":"' .. isoMicros(us) .. '","traits":[' .. projectTrait ..
        (traits == '' and '' or ',' .. traits) .. '],"raw":{}}}'
      local r = #records
      records[r + 1] = seq
      records[r + 2] = json
      if r + 2 >= 4000 then
        rcall('HSET', KEYS[2], unpack(records))
        records = {}
      end
      published[#published + 1] = json
      local fresh = ARGV[g + 5]
      if fresh ~= '' then
        local known = types[etype]
        if known == nil then
          local stored = rcall('HGET', KEYS[5], etype)
          known = { traits = stored and cjson.decode(stored) or { project_id = 'string' }, grew = not stored }
          types[etype] = known
        end
        for name, ttype in pairs(cjson.decode(fresh)) do
          if known.traits[name] == nil then
            known.traits[name] = ttype
            known.grew = true
          end
        end
      end
      appended = appended + 1
      lastId = id
    end
  end
  if lastId and lastId ~= done then rcall('HSET', KEYS[4], outbox, lastId) end
  i = i + 2 + groups * 6
end
if appended > 0 then
  rcall('HSET', KEYS[1], 'seq', seq)
  if #records > 0 then rcall('HSET', KEYS[2], unpack(records)) end
  for _, key in ipairs(indexKeys) do
    local list = index[key]
    if #list > 0 then rcall('ZADD', key, unpack(list)) end
  end
  -- One message for the call's events (subscriber.ts decodes a payload into several entries); a
  -- record's JSON holds no raw newline.
  rcall('SPUBLISH', KEYS[6], table.concat(published, '\n'))
end
for etype, known in pairs(types) do
  if known.grew then rcall('HSET', KEYS[5], etype, cjson.encode(known.traits)) end
end
trimLog(tonumber(ARGV[1]), tonumber(ARGV[2]), 1000)
return { seq, appended }
