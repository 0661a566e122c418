--[[
  Replaces the metadata of an existing queue and tells every node to forget what it cached about it.

  KEYS[1] queues   HASH queue name -> JSON QueueMeta
  KEYS[2] changes  metadata change channel (shard channel, same hash tag)
  KEYS[3] outbox   STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] queue name
  ARGV[2] JSON QueueMeta
  ARGV[3] the change to announce

  Returns: 1 replaced, 0 when there is no such queue.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "event-record"

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
rcall('HSET', KEYS[1], ARGV[1], ARGV[2])
rcall('SPUBLISH', KEYS[2], ARGV[3])
local m = cjson.decode(ARGV[2])
recordEvent(KEYS[3], m.application, 'message_queue.update', {
  queue_name = ARGV[1], partitions = m.partitions, type = m.type, consistency = m.consistency,
})
return 1
