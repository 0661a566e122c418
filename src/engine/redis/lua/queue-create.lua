--[[
  Adds a queue to its application's catalogue.

  KEYS[1] apps    HASH name -> JSON AppRecord
  KEYS[2] queues  HASH queue name -> JSON QueueMeta
  KEYS[3] qnames  ZSET of queue names (score 0)
  ARGV[1] application name
  ARGV[2] queue name
  ARGV[3] JSON QueueMeta

  Returns: 1 created, 0 when the queue exists, -1 when the application does not.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if rcall('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
rcall('ZADD', KEYS[3], 0, ARGV[2])
return 1
