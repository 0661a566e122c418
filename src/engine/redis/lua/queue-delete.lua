--[[
  Removes a queue from its application's catalogue (its partitions are deleted by the engine after
  this, as they live in other slots).

  KEYS[1] queues  HASH queue name -> JSON QueueMeta
  KEYS[2] qnames  ZSET of queue names
  ARGV[1] queue name

  Returns: 1 removed, 0 when there was no such queue.
  Errors: none of its own.
]]
local rcall = redis.call

rcall('ZREM', KEYS[2], ARGV[1])
return rcall('HDEL', KEYS[1], ARGV[1])
