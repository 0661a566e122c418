--[[
  Replaces the metadata of an existing queue.

  KEYS[1] queues  HASH queue name -> JSON QueueMeta
  ARGV[1] queue name
  ARGV[2] JSON QueueMeta

  Returns: 1 replaced, 0 when there is no such queue.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
rcall('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
