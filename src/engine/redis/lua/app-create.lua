--[[
  Creates an application with its first key (stored only as a hash).

  KEYS[1] apps     HASH name -> JSON AppRecord
  KEYS[2] keys     HASH key hash -> application name
  KEYS[3] appkeys  SET of this application's key hashes
  ARGV[1] application name
  ARGV[2] JSON AppRecord
  ARGV[3] sha256 hex of the key

  Returns: 1 created, 0 when the name is taken.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
rcall('HSET', KEYS[2], ARGV[3], ARGV[1])
rcall('SADD', KEYS[3], ARGV[3])
return 1
