--[[
  Adds a key (that does not expire) to an existing application; drops its expired keys first.

  KEYS[1] apps, KEYS[2] keys, KEYS[3] appkeys, KEYS[4] keyinfo (as app-create.lua)
  ARGV[1] application name
  ARGV[2] sha256 hex of the new key
  ARGV[3] JSON key info
  ARGV[4] now, epoch ms

  Returns: 1 added, -1 no such application.
]]
--- @include "app-key-prune"
local rcall = redis.call

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
appKeyPrune(KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[4]))
rcall('HSET', KEYS[2], ARGV[2], ARGV[1])
rcall('SADD', KEYS[3], ARGV[2])
rcall('HSET', KEYS[4], ARGV[2], ARGV[3])
return 1
