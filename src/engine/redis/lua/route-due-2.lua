--[[
  The due index of routing (protocol/routing.md section 6): which call queues to tick and decide,
  and when; swept by every node.

  KEYS[1] due    ZSET  queue ref (JSON [app, queue]) -> when (ms)
  KEYS[2] dirty  HASH  queue ref -> 1 when marked since its last claim

  ARGV[1] add <ref> <at ms>            -> 'ok': due at the earlier of its time and at, marked dirty
          claim <limit> <lease ms>     -> refs due now (at most limit), each leased until now +
                                          lease and its dirty mark cleared
          settle <ref> <next ms or ''> -> 'ok': marked since its claim: due now; else due at next,
                                          or removed when there is none

  Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local mode = ARGV[1]
if mode == 'add' then
  rcall('ZADD', KEYS[1], 'LT', tonumber(ARGV[3]), ARGV[2])
  rcall('HSET', KEYS[2], ARGV[2], 1)
  return 'ok'
end
local now = nowMs()
if mode == 'claim' then
  local refs = rcall('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
  for _, ref in ipairs(refs) do
    rcall('ZADD', KEYS[1], now + tonumber(ARGV[3]), ref)
    rcall('HDEL', KEYS[2], ref)
  end
  return refs
end
if rcall('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  rcall('ZADD', KEYS[1], 'LT', now, ARGV[2])
elseif ARGV[3] == '' then
  rcall('ZREM', KEYS[1], ARGV[2])
else
  rcall('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[2])
end
return 'ok'
