--[[
  Revokes one key of an application at once, unless it is the last key that does not expire (an
  application always keeps one, so it cannot be locked out). Announces it on the metadata channel.

  KEYS[1] apps, KEYS[2] keys, KEYS[3] appkeys, KEYS[4] keyinfo (as app-create.lua)
  KEYS[5] changes  metadata change channel (shard channel, same hash tag)
  KEYS[6] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] key id (16 hex)
  ARGV[3] now, epoch ms

  Returns: 1 revoked; -1 no such application, -2 no such key, -3 its last key that does not expire.
]]
--- @include "app-key-prune"
local rcall = redis.call
--- @include "event-record"

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local live = appKeyPrune(KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[3]))
local target = appKeyFind(live, ARGV[2])
if target == nil then return -2 end

local function permanent(hash)
  return string.find(rcall('HGET', KEYS[2], hash), ' ', 1, true) == nil
end
if permanent(target) then
  local others = 0
  for _, hash in ipairs(live) do
    if hash ~= target and permanent(hash) then others = others + 1 end
  end
  if others == 0 then return -3 end
end

rcall('HDEL', KEYS[2], target)
rcall('SREM', KEYS[3], target)
rcall('HDEL', KEYS[4], target)
rcall('SPUBLISH', KEYS[5], cjson.encode({ app = ARGV[1], key = target }))
recordEvent(KEYS[6], ARGV[1], 'application.key.revoke', { key_id = ARGV[2] })
return 1
