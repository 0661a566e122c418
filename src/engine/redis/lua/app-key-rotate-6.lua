--[[
  Replaces a key: adds a new key (that does not expire) and gives the old one an expiry (kept if it
  already expires sooner); an expiry not after now removes the old key at once. Announces the old
  key's change on the metadata channel (nodes drop what they cached about it, meta-cache.ts).

  KEYS[1] apps, KEYS[2] keys, KEYS[3] appkeys, KEYS[4] keyinfo (as app-create.lua)
  KEYS[5] changes  metadata change channel (shard channel, same hash tag)
  KEYS[6] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] old key id (16 hex)
  ARGV[3] sha256 hex of the new key
  ARGV[4] JSON key info of the new key
  ARGV[5] now, epoch ms
  ARGV[6] the old key's new expiry, epoch seconds

  Returns: the old key's expiry (epoch seconds) as a number; -1 no such application, -2 no such key.
]]
--- @include "app-key-prune"
local rcall = redis.call
--- @include "event-record"

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local nowMs = tonumber(ARGV[5])
local old = appKeyFind(appKeyPrune(KEYS[2], KEYS[3], KEYS[4], nowMs), ARGV[2])
if old == nil then return -2 end

local info = cjson.decode(rcall('HGET', KEYS[4], old) or '{}')
local expires = tonumber(ARGV[6])
if type(info.expires) == 'number' and info.expires < expires then expires = info.expires end
if type(info.created) ~= 'number' then info.created = cjson.decode(rcall('HGET', KEYS[1], ARGV[1])).created end

if expires * 1000 <= nowMs then
  rcall('HDEL', KEYS[2], old)
  rcall('SREM', KEYS[3], old)
  rcall('HDEL', KEYS[4], old)
else
  info.expires = expires
  rcall('HSET', KEYS[2], old, ARGV[1] .. ' ' .. string.format('%d', expires * 1000))
  rcall('HSET', KEYS[4], old, cjson.encode(info))
end
rcall('HSET', KEYS[2], ARGV[3], ARGV[1])
rcall('SADD', KEYS[3], ARGV[3])
rcall('HSET', KEYS[4], ARGV[3], ARGV[4])
rcall('SPUBLISH', KEYS[5], cjson.encode({ app = ARGV[1], key = old }))
recordEvent(KEYS[6], ARGV[1], 'application.key.rotate', {
  key_id = string.sub(ARGV[3], 1, 16), replaced_key_id = ARGV[2], replaced_expires = expires * 1000,
})
return expires
