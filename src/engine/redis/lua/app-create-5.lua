--[[
  Creates an application with its first key (stored only as a hash).

  KEYS[1] apps     HASH name -> JSON AppRecord
  KEYS[2] keys     HASH key hash -> application name (+ " <expiry epoch ms>" for an expiring key)
  KEYS[3] appkeys  SET of this application's key hashes
  KEYS[4] keyinfo  HASH key hash -> JSON {created, expires} (epoch seconds; expires null: never)
  KEYS[5] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] JSON AppRecord
  ARGV[3] sha256 hex of the key
  ARGV[4] JSON key info

  Returns: 1 created, 0 when the name is taken.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "event-record"

if rcall('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
rcall('HSET', KEYS[2], ARGV[3], ARGV[1])
rcall('SADD', KEYS[3], ARGV[3])
rcall('HSET', KEYS[4], ARGV[3], ARGV[4])
recordEvent(KEYS[5], ARGV[1], 'application.create', { key_id = string.sub(ARGV[3], 1, 16) })
return 1
