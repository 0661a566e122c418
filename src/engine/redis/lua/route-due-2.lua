--[[
  The due index of routing (protocol/routing.md section 6): which call queues to tick and decide,
  and when; swept by every node.

  KEYS[1] due    ZSET  queue ref (JSON [app, queue]) -> when (ms)
  KEYS[2] dirty  HASH  queue ref -> 1 when marked since its last claim, else the lease (a token the
                       claimer chose) of its latest claim while that claim is unsettled

  ARGV[1] add <ref> <at ms>                -> 'ok': due at the earlier of its time and at, marked dirty
          claim <limit> <lease ms> <lease> -> refs due now (at most limit), each leased until now +
                                              lease ms, its dirty mark replaced by this lease
          settle <ref> <next ms or ''> <lease>
                                           -> 'ok': when the ref still holds this lease (no mark and
                                              no other claim since), due at next, or removed when
                                              there is none; else due now and marked dirty

  A settle counts only for the latest claim with no mark since: a mark lets another node claim a
  queue that is still being processed, and the two sweeps settle in either order, so the one that
  read the queue first could otherwise replace the other's deadline (a ring_all offer's only one)
  with its older view. Marking dirty then makes the other claim's settle due-now too: a fresh sweep
  reads the queue once both are done.

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
    rcall('HSET', KEYS[2], ref, ARGV[4])
  end
  return refs
end
if rcall('HGET', KEYS[2], ARGV[2]) == ARGV[4] then
  rcall('HDEL', KEYS[2], ARGV[2])
  if ARGV[3] == '' then
    rcall('ZREM', KEYS[1], ARGV[2])
  else
    rcall('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[2])
  end
else
  rcall('ZADD', KEYS[1], 'LT', now, ARGV[2])
  rcall('HSET', KEYS[2], ARGV[2], 1)
end
return 'ok'
