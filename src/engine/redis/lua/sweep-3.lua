--[[
  Reclaims the expired messages of one partition (run by the sweeper for partitions the expiry
  index says are due; see src/engine/redis/sweeper.ts for the protocol around it).

  KEYS[1] ids  ZSET of ids
  KEYS[2] msg  HASH id -> record
  KEYS[3] exp  ZSET id -> expiresAtMs
  ARGV[1] at most this many messages are reclaimed per call, so one call never blocks the shard long

  Returns: { reclaimed count, earliest expiresAtMs still stored or -1 when the partition is empty }.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"

local nowMs = math.floor(nowUs() / 1000)
local due = rcall('ZRANGEBYSCORE', KEYS[3], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
if #due > 0 then
  rcall('ZREM', KEYS[1], unpack(due))
  rcall('HDEL', KEYS[2], unpack(due))
  rcall('ZREM', KEYS[3], unpack(due))
end
local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local earliest = -1
if #first > 0 then earliest = tonumber(first[2]) end
return { #due, earliest }
