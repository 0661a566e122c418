--[[
  Changes a live message in place: body, ttl, content type, processing state (AMIE, SPEC.md 3.5),
  optionally as a compare-and-set on its client_state, and keeps the partition's processing-state
  indexes (keys.ts) in step in the same atomic step. Its id and timestamp never change; updatedAtUs
  becomes max(server clock, the message's timestamp, its last updatedAtUs + 1): every change
  advances it, as it versions the message's encodings (server/message-encoding.ts). A new ttl
  counts from now.

  KEYS[1] ids      ZSET of ids (score 0)
  KEYS[2] msg      HASH id -> record
  KEYS[3] exp      ZSET the expiry index (keys.ts)
  KEYS[4] state    HASH: w, the index watermark (keys.ts); v, the change version (messageChanged.lua)
  KEYS[5] stated   ZSET '<client_state> <id>'
  KEYS[6] unset    ZSET ids without a client_state, up to the watermark
  KEYS[7] updated  ZSET id -> updatedAtUs
  KEYS[8] replies  ZSET '<in_reply_to> <id>'
  KEYS[9] outbox   STREAM the partition slot's event outbox (event-record.lua)

  ARGV[1] message id
  ARGV[2] new ttl in seconds, or '' to keep it
  ARGV[3] compare-and-set: '' none; '-' the client_state must be unset; '+<state>' it must be <state>
  ARGV[4] at most this many ids are taken into the indexes by this call (indexCatchUp)
  ARGV[5] the event to record: 'message.update' (traits msg_id, fields: the names given) or
          'message.state' (msg_id, fields, client_state and previous_state when set; SPEC.md 3.5)
  ARGV[6..] pairs (record tag, value): tag 't' or 'b' sets the body as text or binary (the other
          is dropped); the tag of a field an update may change (src/message-fields.ts: c content
          type, s client state, j client JSON) takes '+<value>' to set or '-' to clear.

  Returns: the new record; false when the message does not exist or has expired; { 'c', state }
          when the compare-and-set failed (state '' when unset): nothing changed, no event; { 'b' } when
          the state changes and the indexes have not reached the message yet (more than ARGV[4]
          ids to take in first): nothing changed but the indexes' progress, the engine calls again.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "numStr"
--- @include "recordEncode"
--- @include "recordDecode"
--- @include "indexCatchUp"
--- @include "event-record"
--- @include "messageChanged"

local id = ARGV[1]
local now = nowUs()
local nowMs = math.floor(now / 1000)
local record = rcall('HGET', KEYS[2], id)
if not record then return false end
local fields = recordDecode(record)
local e = tonumber(fields.e)
if not e or e <= nowMs then return false end

local before = fields.s
if ARGV[3] ~= '' then
  local expected = nil
  if ARGV[3] ~= '-' then expected = string.sub(ARGV[3], 2) end
  if before ~= expected then return { 'c', before or '' } end
end

if ARGV[2] ~= '' then
  local expiresAt = nowMs + tonumber(ARGV[2]) * 1000
  fields.l = ARGV[2]
  fields.e = numStr(expiresAt)
end
for i = 6, #ARGV, 2 do
  local tag, value = ARGV[i], ARGV[i + 1]
  if tag == 't' or tag == 'b' then
    fields.t = nil
    fields.b = nil
    fields[tag] = value
  elseif string.sub(value, 1, 1) == '+' then
    fields[tag] = string.sub(value, 2)
  else
    fields[tag] = nil
  end
end
local after = fields.s

-- A message after the watermark has no state and is in no index yet: take the ids up to it in first.
if after ~= before then
  local w = rcall('HGET', KEYS[4], 'w') or ''
  if id > w then
    w = indexCatchUp(KEYS[1], KEYS[2], KEYS[4], KEYS[6], KEYS[8], tonumber(ARGV[4]))
    if id > w then return { 'b' } end
  end
  if before then rcall('ZREM', KEYS[5], before .. ' ' .. id) else rcall('ZREM', KEYS[6], id) end
  if after then rcall('ZADD', KEYS[5], 0, after .. ' ' .. id) else rcall('ZADD', KEYS[6], 0, id) end
end

-- A new ttl: the message's own entry in the expiry index, which its run's entry then defers to (keys.ts).
if ARGV[2] ~= '' then rcall('ZADD', KEYS[3], tonumber(fields.e), id) end
local timestampUs = tonumber(string.sub(id, 1, 14), 16)
local updatedAt = math.max(now, timestampUs, (tonumber(fields.u) or 0) + 1)
fields.u = numStr(updatedAt)
rcall('ZADD', KEYS[7], fields.u, id)

record = recordEncode(fields)
rcall('HSET', KEYS[2], id, record)
-- Nodes serving history from their tail of this partition re-read it (tail-cache.ts).
messageChanged(KEYS[4])

-- The event, in the same step. The fields given, by name (src/message-fields.ts tags; t/b the
-- body); queue and partition are the outbox's context (events.ts OutboxContext).
local names = { t = 'body', b = 'body', --[[@message-field-names]] }
local given = {}
if ARGV[2] ~= '' then given.ttl = true end
for i = 6, #ARGV, 2 do given[names[ARGV[i]] or ARGV[i]] = true end
local list = {}
for name in pairs(given) do list[#list + 1] = name end
table.sort(list)
local traits = { msg_id = id, fields = table.concat(list, ',') }
if ARGV[5] == 'message.state' then
  traits.client_state = after
  traits.previous_state = before
end
recordEvent(KEYS[9], '', ARGV[5], traits)
return record
