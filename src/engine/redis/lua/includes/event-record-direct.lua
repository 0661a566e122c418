-- Loaded in place of event-record.lua by the call store's scripts on a single Redis (not a cluster;
-- scripts.ts loadLua, mode 'direct'; src/engine/redis/calls.ts): the same functions, but each
-- event goes straight into the application's event log, in the script that makes the change,
-- instead of into the slot's outbox for a relay to copy. On one Redis every key is on the one
-- server, so the change, its event, the event's seq and its index entries are one atomic step: no
-- outbox entry, no relay round trip, nothing decoded or encoded again outside this script.
--
-- Each event gets here what the relay gives it (events-relay-8.lua): the next seq of the log, a
-- message_id (a UUIDv7 that names the seq, messageId), its record in the records hash, its index
-- member (the seq, nextEvent) in its type's index and its queue's, the record published alone on the
-- log's channel, and the type catalogue's entry. An event of plain values (recordEvent: routing, agents, tags) is
-- stored as the relay stores it, typed here. A call-queue change's event (change-event-direct.lua,
-- the most frequent) is stored as the change itself, and the node builds its traits when it reads
-- it (appendChange): typing and writing some fifteen traits in Lua cost more than the rest of the
-- recording together.
--
-- Such a script takes the application's event log keys (keys.ts EventLogKeys, eight) after its own
-- KEYS, and two arguments after its own: the application, and seven hex digits of the SHA-1 of its
-- name, the first with the UUID variant bits set (events.ts directIdBits). scripts.ts checks that no
-- such script reads #ARGV otherwise. The `outbox` argument of the functions below is not used.
local directLog = #KEYS - 8
local directApp = ARGV[#ARGV - 1]
local directBits = ARGV[#ARGV]

-- The declared traits of an event type, in catalogue order: { {name, type}, ... }, from a table
-- filled in by scripts.ts from events.ts (EVENT_TYPES and the registered types). Made when an event
-- of plain values is recorded, not on every run of the script (a change's event comes typed).
local function declaredTraits(etype)
  local all = --[[@event-trait-types]]
  return all[etype] or {}
end

-- An ISO-8601 UTC time with six decimals from µs since the epoch (text), as events.ts isoMicros.
-- Days to a civil date: H. Hinnant's days_from_civil, inverted (proleptic Gregorian).
local function isoMicros(us)
  local s = tonumber(string.sub(us, 1, -7))
  local days = math.floor(s / 86400)
  local r = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.', y, m, d, math.floor(r / 3600), math.floor(r % 3600 / 60), r % 60) ..
    string.sub(us, -6) .. 'Z'
end

--- @include "event-micros"
--- @include "trait-text"

-- The next seq of the log (text), and its index member: the seq in twelve digits, zero-padded, so
-- the members of one µs sort by seq, which is their message_ids' order (messageId). No message_id
-- is made here for a change's event: the node that reads it makes it (events.ts directMessageId).
-- With the id out of the record and a member of 12 characters instead of 45, an event and its index
-- entries take about 1,020 bytes of Redis memory instead of 1,180.
local function nextEvent()
  local meta = KEYS[directLog + 1]
  local seq = redis.call('HINCRBY', meta, 'seq', '1')
  if seq == 1 then redis.call('HSET', meta, 'first', '1') end
  return string.format('%d', seq), string.format('%012d', seq)
end

-- The message_id of this log's event `seqText` of `us`: a UUIDv7 (RFC 9562) of the event's µs, 48
-- bits of ms, 12 bits of the µs within it (method 3, as events.ts uuidv7Micros), then the variant
-- and 62 bits: 26 of the application (directBits) and 36 of the seq, so ids are unique within a log
-- and across logs, sort by time, and, within one µs of one log, by seq.
local function messageId(us, seqText)
  local ms = tonumber(string.sub(us, 1, -4))
  return string.format('%08x-%04x-7%03x-%s-%s%09x', math.floor(ms / 65536), ms % 65536,
    math.floor(tonumber(string.sub(us, -3)) * 4096 / 1000), string.sub(directBits, 1, 4), string.sub(directBits, 5, 7),
    tonumber(seqText) % 68719476736)
end

-- Stores a record (its seq's field), indexes it (`member` at its µs, in its type's index and its
-- queue's) and publishes it alone on the log's channel. There is no index of every event: a walk of
-- the whole log merges the type indexes (events.ts scan), and a message_id of one Redis names its
-- seq (GET by id). Each index entry costs about 2 µs of Redis (bench/events.ts rest, per command).
local function storeEvent(seqText, member, etype, queueId, us, json)
  redis.call('HSET', KEYS[directLog + 2], seqText, json)
  redis.call('ZADD', KEYS[directLog + 7] .. etype, us, member)
  if queueId ~= '' then redis.call('ZADD', KEYS[directLog + 8] .. queueId, us, member) end
  redis.call('SPUBLISH', KEYS[directLog + 6], json)
end

-- The type catalogue (name -> type): a type Holdline declares lists its declared traits from its
-- first event on (protocol/events.md, GET /v1/event_types/{type}/traits), so its entry is written
-- once; `traits` (the event's, typed, '' none) adds the names the catalogue does not have.
local function catalogue(etype, traits)
  local types = KEYS[directLog + 5]
  local stored = redis.call('HGET', types, etype)
  if stored and traits == '' then return end
  local known = { project_id = 'string' }
  if stored then
    known = cjson.decode(stored)
  else
    for _, d in ipairs(declaredTraits(etype)) do known[d[1]] = d[2] end
  end
  local grew = not stored
  for name, ttype in string.gmatch(traits, '{"name":"([^"]+)","type":"(%a+)"') do
    if known[name] == nil then
      known[name] = ttype
      grew = true
    end
  end
  if grew then redis.call('HSET', types, etype, cjson.encode(known)) end
end

-- Appends an event of typed traits (the comma-separated trait objects after project_id, in the log's
-- JSON; queueId '' when none): the record the relay makes.
local function appendEvent(etype, traits, queueId, us)
  local seqText, member = nextEvent()
  local id = messageId(us, seqText)
  local json = '{"seq":' .. seqText .. ',"us":' .. us .. (queueId == '' and '' or ',"q":' .. cjson.encode(queueId)) ..
    ',"event":{"message_id":"' .. id .. '","event_type":"' .. etype .. '","generated":"' .. isoMicros(us) ..
    '","traits":[{"name":"project_id","type":"string","value":' .. cjson.encode(directApp) .. '}' ..
    (traits == '' and '' or ',' .. traits) .. '],"raw":{}}}'
  storeEvent(seqText, member, etype, queueId, us, json)
  catalogue(etype, traits)
  return id
end

-- Appends a call-queue change's event as the change itself (its JSON as the script published it,
-- without the queue's stats: call-emit.lua):
-- `{"seq":…,"us":…[,"q":…],"event":{"event_type":…},"c":<change>}`. The node builds the event's
-- message_id (messageId's), traits and `generated` when it reads the record (events.ts
-- changeEventValues and buildEvent, src/engine/redis/events.ts toLogged): no trait is typed or
-- written here, and the type's declared traits are its catalogue entry.
local function appendChange(etype, queueId, changeJson, us)
  local seqText, member = nextEvent()
  local json = '{"seq":' .. seqText .. ',"us":' .. us .. (queueId == '' and '' or ',"q":"' .. queueId .. '"') ..
    ',"event":{"event_type":"' .. etype .. '"},"c":' .. changeJson .. '}'
  storeEvent(seqText, member, etype, queueId, us, json)
  if redis.call('HEXISTS', KEYS[directLog + 5], etype) == 0 then catalogue(etype, '') end
end

-- The event of plain trait values (events.ts buildEvent): the type's declared traits in catalogue
-- order, then undeclared ones as strings, by name.
local function recordEvent(outbox, app, etype, values)
  local out = {}
  local declared = declaredTraits(etype)
  local seen = { project_id = true }
  for _, d in ipairs(declared) do
    seen[d[1]] = true
    local text = traitText(d[2], values[d[1]])
    if text ~= nil then out[#out + 1] = '{"name":"' .. d[1] .. '","type":"' .. d[2] .. '","value":' .. text .. '}' end
  end
  local extra = {}
  for name in pairs(values) do
    if not seen[name] then extra[#extra + 1] = name end
  end
  table.sort(extra)
  for _, name in ipairs(extra) do
    local text = strText(values[name])
    if text ~= nil then out[#out + 1] = '{"name":"' .. name .. '","type":"string","value":' .. text .. '}' end
  end
  local q = values.queue_id
  return appendEvent(etype, table.concat(out, ','), (q == nil or q == cjson.null) and '' or tostring(q), eventMicros())
end
