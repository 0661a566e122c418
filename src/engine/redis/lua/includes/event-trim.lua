-- Retention of one application's event log (KEYS[1..8] as EventLogKeys): removes events from the
-- oldest seq on while there are more than maxEvents or the oldest was generated before cutoffUs,
-- at most `budget` per call (the caller calls again while it returns budget). Oldest by seq is
-- oldest by relay; an event relayed late (after a crash) may outlive its age by the delay.
-- An event is in its type's index and, when its record has `q`, that queue's, as the member
-- `<message_id><seq>` (relayed, or recorded by an earlier version) or its seq in twelve digits
-- (recorded on one Redis: event-record-direct.lua; the time index of earlier versions is reclaimed
-- by its TTL, events.ts ensureLog). Returns how many were removed.
-- What removing a record needs (message_id or nil, event_type, queue_id or nil), read where the
-- recorders write them (events.ts pushRecord: `{"seq":…,"us":…[,"q":"…"],"event":{"message_id":"…","event_type":"…"`;
-- a change recorded on one Redis: `…,"event":{"event_type":"…"`) rather than decoding the whole
-- record (its traits are most of it): once the log is full, every event recorded makes one
-- removal. A record not in those shapes (an escape in a name) is decoded.
local function removalFields(json)
  local q, id, etype = string.match(json, '^{"seq":%d+,"us":%d+,"q":"([^"\\]*)","event":{"message_id":"([^"\\]*)","event_type":"([^"\\]*)"')
  if id ~= nil then return id, etype, q end
  id, etype = string.match(json, '^{"seq":%d+,"us":%d+,"event":{"message_id":"([^"\\]*)","event_type":"([^"\\]*)"')
  if id ~= nil then return id, etype, nil end
  q, etype = string.match(json, '^{"seq":%d+,"us":%d+,"q":"([^"\\]*)","event":{"event_type":"([^"\\]*)"')
  if etype ~= nil then return nil, etype, q end
  etype = string.match(json, '^{"seq":%d+,"us":%d+,"event":{"event_type":"([^"\\]*)"')
  if etype ~= nil then return nil, etype, nil end
  local rec = cjson.decode(json)
  return rec.event.message_id, rec.event.event_type, rec.q
end

local function trimLog(cutoffUs, maxEvents, budget)
  local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
  local first = tonumber(redis.call('HGET', KEYS[1], 'first') or '1')
  local removed = 0
  while first <= last and removed < budget do
    local json = redis.call('HGET', KEYS[2], first)
    if json then
      -- Read `us` from the text (every relay looks at the oldest event; decoding it is for removal).
      if last - first + 1 <= maxEvents and tonumber(string.match(json, '"us":(%d+)')) >= cutoffUs then break end
      local id, etype, q = removalFields(json)
      -- An event with a message_id in its record may be either member (plain values recorded on one
      -- Redis have the short one): both go in one ZREM.
      local short = string.format('%012d', first)
      redis.call('HDEL', KEYS[2], first)
      if id == nil then
        redis.call('ZREM', KEYS[7] .. etype, short)
        if q ~= nil then redis.call('ZREM', KEYS[8] .. q, short) end
      else
        local member = id .. first
        redis.call('ZREM', KEYS[7] .. etype, member, short)
        if q ~= nil then redis.call('ZREM', KEYS[8] .. q, member, short) end
      end
    end
    first = first + 1
    removed = removed + 1
  end
  if removed > 0 then redis.call('HSET', KEYS[1], 'first', first) end
  return removed
end
