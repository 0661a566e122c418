--[[
  Deletes messages of one partition by id, and takes them out of every processing-state index at
  once (keys.ts). An expired message no longer exists for callers: it is removed too (nothing to
  keep it for) but not counted.

  KEYS[1] ids      ZSET of ids
  KEYS[2] msg      HASH id -> record
  KEYS[3] exp      ZSET the expiry index (keys.ts)
  KEYS[4] stated   ZSET '<client_state> <id>'
  KEYS[5] unset    ZSET ids without a client_state
  KEYS[6] updated  ZSET id -> updatedAtUs
  KEYS[7] replies  ZSET '<in_reply_to> <id>'
  KEYS[8] outbox   STREAM the partition slot's event outbox (event-record.lua): message.delete
  KEYS[9] state    HASH of the partition: v, its change version (includes/messageChanged.lua)
  ARGV[1..] message ids

  Returns: how many live messages were deleted.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "indexUnlink"
--- @include "recordExpiry"
--- @include "event-record"
--- @include "messageChanged"

local nowMs = math.floor(nowUs() / 1000)
local deleted = 0
local gone, records = {}, {}
for i = 1, #ARGV do
  local record = rcall('HGET', KEYS[2], ARGV[i])
  if record then
    gone[#gone + 1] = ARGV[i]
    records[#gone] = record
    rcall('ZREM', KEYS[1], ARGV[i])
    rcall('HDEL', KEYS[2], ARGV[i])
    -- Its own entry in the expiry index, if it has one; a run covering it needs nothing (keys.ts).
    rcall('ZREM', KEYS[3], ARGV[i])
    local e = recordExpiry(record)
    if e and e > nowMs then
      deleted = deleted + 1
      recordEvent(KEYS[8], '', 'message.delete', { msg_id = ARGV[i] })
    end
  end
end
if #gone > 0 then
  indexUnlink(KEYS[4], KEYS[5], KEYS[6], KEYS[7], gone, records)
  messageChanged(KEYS[9])
end
return deleted
