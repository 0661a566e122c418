--[[
  Deletes an application's metadata: the record, every key (revoked at once) and the queue
  catalogue, and tells every node to forget what it cached about the application. The queues'
  messages are deleted by the engine before this runs (they live in other slots).

  KEYS[1] apps     HASH name -> JSON AppRecord
  KEYS[2] keys     HASH key hash -> application name
  KEYS[3] appkeys  SET of this application's key hashes
  KEYS[4] queues   HASH queue name -> JSON QueueMeta
  KEYS[5] qnames   ZSET of queue names
  KEYS[6] qincs    HASH queue name -> incarnation number
  KEYS[7] keyinfo  HASH key hash -> JSON key info
  KEYS[8] changes  metadata change channel (shard channel, same hash tag)
  KEYS[9] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] the change to announce

  Returns: 1 deleted, 0 when there was no such application.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "event-record"

local hashes = rcall('SMEMBERS', KEYS[3])
if #hashes > 0 then rcall('HDEL', KEYS[2], unpack(hashes)) end
rcall('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
local deleted = rcall('HDEL', KEYS[1], ARGV[1])
rcall('SPUBLISH', KEYS[8], ARGV[2])
if deleted == 1 then recordEvent(KEYS[9], ARGV[1], 'application.delete', {}) end
return deleted
