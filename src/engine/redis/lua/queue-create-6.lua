--[[
  Adds a queue to its application's catalogue, with a new incarnation number: larger than that of
  any queue created before in this deployment, so the partitions' live markers can tell this queue
  from a deleted one of the same name (partition-mark.lua).

  KEYS[1] apps    HASH name -> JSON AppRecord
  KEYS[2] queues  HASH queue name -> JSON QueueMeta
  KEYS[3] qnames  ZSET of queue names (score 0)
  KEYS[4] qincs   HASH queue name -> incarnation number
  KEYS[5] incseq  STRING, the last incarnation number drawn (never deleted)
  KEYS[6] outbox  STREAM the metadata slot's event outbox (event-record.lua)
  ARGV[1] application name
  ARGV[2] queue name
  ARGV[3] JSON QueueMeta

  Returns: 1 created, 0 when the queue exists, -1 when the application does not.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "event-record"

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if rcall('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
rcall('ZADD', KEYS[3], 0, ARGV[2])
rcall('HSET', KEYS[4], ARGV[2], rcall('INCR', KEYS[5]))
local m = cjson.decode(ARGV[3])
recordEvent(KEYS[6], ARGV[1], 'message_queue.create', { queue_name = ARGV[2], partitions = m.partitions, type = m.type, consistency = m.consistency })
return 1
