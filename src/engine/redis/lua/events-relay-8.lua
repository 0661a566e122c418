--[[
  Relays events from outboxes into an application's event log, idempotently: the log keeps, per
  outbox, the last stream id relayed from it, and skips entries at or below it, so a relay repeated
  after a crash or by another node adds nothing twice. (That mark is written by the same atomic
  call, in the same slot, as the events it covers: a failover of the log's primary keeps or loses
  both together, never one. A message_id is the SHA-1 of its outbox and stream id: an entry not
  covered by the mark has no event in the log, so no per-event check of the message_id is made.) Each
  new event gets the next seq, is indexed and published on the log's channel, in the order given
  (the outbox's order). Then retention trims the oldest (includes/event-trim.lua).

  The relay (src/engine/redis/events.ts) makes each event's record but its seq: its message_id (a
  UUIDv7 from the entry's time and the SHA-1 of "<outbox>|<stream id>", so any node relaying the
  entry makes the same), `generated`, and the traits as the script that recorded them wrote them
  (lua/includes/change-event.lua), all of which depend on the entry alone. Here, where Redis's one
  thread serves every node, an event costs only what needs the log: the next seq, its record
  (`{"seq":<seq>` and the relay's text), its index entries (keys.ts EventLogKeys: score the
  generated µs, member `<message_id><seq>`, in its type's index and its queue's; no index of every
  event: a walk of the whole log merges the type indexes, events.ts scan), and its
  part of the call's messages on the log's channel (one per 256 events). Redis work per event: one field of one HSET
  and one entry of each index ZADD, every command batched over the call's events, and one SPUBLISH
  per 256 events. The traits are not read here: the relay names those the log's types catalogue may not
  have yet (usually none), and only then is the catalogue decoded (once per event type per call)
  and rewritten.

  KEYS[1..8] the application's event log, laid out in keys.ts (EventLogKeys):
             meta records time sources types channel byType byQueue (the last two: key prefixes)

  ARGV[1] retention cutoff, µs since the epoch (older events are reclaimed)
  ARGV[2] retention size bound (events kept at most)
  ARGV[3..] one section per outbox relayed (one call takes the entries of several outboxes, so its
            fixed cost is shared by more events): the outbox key (the source's name; never used as
            a key here), the number of its entries, then per entry seven: stream id, generated (µs
            since the epoch: the index score), event type, queue_id ('' none), message_id, the
            record after its seq (events.ts StoredRecord, `,"us":…,"event":{…}` up to its closing
            brace), and the traits to add to the type's catalogue as a JSON object name -> type
            ('' none)

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

local seq = tonumber(rcall('HGET', KEYS[1], 'seq') or '0')
local appended = 0
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
-- An index key per type and per queue, spelled once per call.
local typeKeys, queueKeys = {}, {}
local records = {}
local published = {}
local i = 3
while i <= #ARGV do
  local outbox = ARGV[i]
  local groups = tonumber(ARGV[i + 1])
  local done = rcall('HGET', KEYS[4], outbox)
  local lastId = done
  -- The entries are in stream order: once one is after `done`, so are the rest.
  local after = done == false
  for g = i + 2, i + 1 + groups * 7, 7 do
    local id = ARGV[g]
    after = after or idLess(done, id)
    if after then
      local usText = ARGV[g + 1]
      local etype = ARGV[g + 2]
      local queueId = ARGV[g + 3]
      seq = seq + 1
      if seq == 1 then rcall('HSET', KEYS[1], 'first', 1) end
      local seqText = tostring(seq)
      local member = ARGV[g + 4] .. seqText
      local key = typeKeys[etype]
      if key == nil then
        key = KEYS[7] .. etype
        typeKeys[etype] = key
      end
      indexAdd(key, usText, member)
      if queueId ~= '' then
        key = queueKeys[queueId]
        if key == nil then
          key = KEYS[8] .. queueId
          queueKeys[queueId] = key
        end
        indexAdd(key, usText, member)
      end
      local json = '{"seq":' .. seqText .. ARGV[g + 5]
      local r = #records
      records[r + 1] = seqText
      records[r + 2] = json
      if r + 2 >= 4000 then
        rcall('HSET', KEYS[2], unpack(records))
        records = {}
      end
      published[#published + 1] = json
      if #published >= 256 then
        rcall('SPUBLISH', KEYS[6], table.concat(published, '\n'))
        published = {}
      end
      local fresh = ARGV[g + 6]
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
  i = i + 2 + groups * 7
end
if appended > 0 then
  rcall('HSET', KEYS[1], 'seq', seq)
  if #records > 0 then rcall('HSET', KEYS[2], unpack(records)) end
  for _, key in ipairs(indexKeys) do
    local list = index[key]
    if #list > 0 then rcall('ZADD', key, unpack(list)) end
  end
  -- One message per 256 of the call's events (subscriber.ts decodes a payload into several
  -- entries; a record's JSON holds no raw newline), so no message outgrows a subscriber's buffer.
  if #published > 0 then rcall('SPUBLISH', KEYS[6], table.concat(published, '\n')) end
end
for etype, known in pairs(types) do
  if known.grew then rcall('HSET', KEYS[5], etype, cjson.encode(known.traits)) end
end
trimLog(tonumber(ARGV[1]), tonumber(ARGV[2]), 1000)
return { seq, appended }
