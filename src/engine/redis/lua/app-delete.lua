--[[
  Deletes an application's metadata: the record, every key (revoked at once) and the queue
  catalogue. The queues' messages are deleted by the engine before this runs (they live in other
  slots).

  KEYS[1] apps     HASH name -> JSON AppRecord
  KEYS[2] keys     HASH key hash -> application name
  KEYS[3] appkeys  SET of this application's key hashes
  KEYS[4] queues   HASH queue name -> JSON QueueMeta
  KEYS[5] qnames   ZSET of queue names
  ARGV[1] application name

  Returns: 1 deleted, 0 when there was no such application.
  Errors: none of its own.
]]
local rcall = redis.call

local hashes = rcall('SMEMBERS', KEYS[3])
if #hashes > 0 then rcall('HDEL', KEYS[2], unpack(hashes)) end
rcall('DEL', KEYS[3], KEYS[4], KEYS[5])
return rcall('HDEL', KEYS[1], ARGV[1])
