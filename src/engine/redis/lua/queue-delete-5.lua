--[[
  Removes a queue from its application's catalogue (its partitions are dropped by the engine after
  this, as they live in other slots) and tells every node to forget what it cached about it.

  KEYS[1] queues  HASH queue name -> JSON QueueMeta
  KEYS[2] qnames  ZSET of queue names
  KEYS[3] qincs   HASH queue name -> incarnation number
  KEYS[4] changes metadata change channel (shard channel, same hash tag)
  KEYS[5] outbox  STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] queue name
  ARGV[2] the change to announce

  Returns: false when there was no such queue; else { JSON QueueMeta, incarnation number } (0 for
  a queue created before incarnations existed).
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "event-record"

local json = rcall('HGET', KEYS[1], ARGV[1])
if not json then return false end
local inc = rcall('HGET', KEYS[3], ARGV[1]) or '0'
rcall('HDEL', KEYS[1], ARGV[1])
rcall('ZREM', KEYS[2], ARGV[1])
rcall('HDEL', KEYS[3], ARGV[1])
rcall('SPUBLISH', KEYS[4], ARGV[2])
recordEvent(KEYS[5], cjson.decode(json).application, 'message_queue.delete', { queue_name = ARGV[1] })
return { json, inc }
