--[[
  Changes a live message in place: body, ttl, content type, processing state (AMIE). Its id and
  timestamp never change; updatedAtUs becomes max(server clock, the message's timestamp, its last
  updatedAtUs + 1): every change advances it, as it versions the message's encodings
  (server/message-encoding.ts). A new ttl counts from now.

  KEYS[1] msg  HASH id -> record
  KEYS[2] exp  ZSET id -> expiresAtMs
  KEYS[3] state HASH of the partition (its change version v: includes/messageChanged.lua)

  ARGV[1] message id
  ARGV[2] new ttl in seconds, or '' to keep it
  ARGV[3..] pairs (record tag, value): tag 't' or 'b' sets the body as text or binary (the other
          is dropped); the tag of a field an update may change (src/message-fields.ts: c content
          type, s client state, j client JSON) takes '+<value>' to set or '-' to clear.

  Returns: the new record, or false when the message does not exist or has expired.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "numStr"
--- @include "recordEncode"
--- @include "recordDecode"
--- @include "messageChanged"

local id = ARGV[1]
local now = nowUs()
local nowMs = math.floor(now / 1000)
local e = tonumber(rcall('ZSCORE', KEYS[2], id))
if not e or e <= nowMs then return false end
local record = rcall('HGET', KEYS[1], id)
if not record then return false end

local fields = recordDecode(record)
if ARGV[2] ~= '' then
  local expiresAt = nowMs + tonumber(ARGV[2]) * 1000
  fields.l = ARGV[2]
  fields.e = numStr(expiresAt)
  rcall('ZADD', KEYS[2], expiresAt, id)
end
for i = 3, #ARGV, 2 do
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
local timestampUs = tonumber(string.sub(id, 1, 14), 16)
fields.u = numStr(math.max(now, timestampUs, (tonumber(fields.u) or 0) + 1))

record = recordEncode(fields)
rcall('HSET', KEYS[1], id, record)
messageChanged(KEYS[3])
return record
