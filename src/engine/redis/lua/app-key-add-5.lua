--[[
  Adds a key (that does not expire) to an existing application; drops its expired keys first.

  KEYS[1] apps, KEYS[2] keys, KEYS[3] appkeys, KEYS[4] keyinfo (as app-create.lua)
  KEYS[5] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] sha256 hex of the new key
  ARGV[3] JSON key info
  ARGV[4] now, epoch ms

  Returns: 1 added, -1 no such application.
]]
--- @include "app-key-prune"
local rcall = redis.call
--- @include "event-record"

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
appKeyPrune(KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[4]))
rcall('HSET', KEYS[2], ARGV[2], ARGV[1])
rcall('SADD', KEYS[3], ARGV[2])
rcall('HSET', KEYS[4], ARGV[2], ARGV[3])
recordEvent(KEYS[5], ARGV[1], 'application.key.create', { key_id = string.sub(ARGV[2], 1, 16) })
return 1
