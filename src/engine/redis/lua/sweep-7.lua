--[[
  Reclaims the expired messages of one partition (run by the sweeper for partitions the expiry
  index says are due; see src/engine/redis/sweeper.ts for the protocol around it), and takes them
  out of every processing-state index in the same step (keys.ts).

  KEYS[1] ids      ZSET of ids
  KEYS[2] msg      HASH id -> record
  KEYS[3] exp      ZSET id -> expiresAtMs
  KEYS[4] stated   ZSET '<client_state> <id>'
  KEYS[5] unset    ZSET ids without a client_state
  KEYS[6] updated  ZSET id -> updatedAtUs
  KEYS[7] replies  ZSET '<in_reply_to> <id>'
  ARGV[1] at most this many messages are reclaimed per call, so one call never blocks the shard long

  Returns: { reclaimed count, earliest expiresAtMs still stored or -1 when the partition is empty }.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "indexUnlink"

local nowMs = math.floor(nowUs() / 1000)
local due = rcall('ZRANGEBYSCORE', KEYS[3], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
for s = 1, #due, 500 do
  local e = math.min(s + 499, #due)
  local chunk = { unpack(due, s, e) }
  indexUnlink(KEYS[4], KEYS[5], KEYS[6], KEYS[7], chunk, rcall('HMGET', KEYS[2], unpack(chunk)))
  rcall('ZREM', KEYS[1], unpack(chunk))
  rcall('HDEL', KEYS[2], unpack(chunk))
  rcall('ZREM', KEYS[3], unpack(chunk))
end
local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local earliest = -1
if #first > 0 then earliest = tonumber(first[2]) end
return { #due, earliest }
