-- Every script that changes or removes a stored message of a partition (update, delete) calls this
-- in the same atomic step: it advances the partition's change version (state field v). A node
-- serving history from its in-process tail of the partition (tail-cache.ts) trusts that tail only
-- while the version is the one it read with it, so no change made through any node is served stale.
-- Appends need no bump (they are announced on the live channel, in seq order); expiry needs none
-- (a tail filters by the Redis clock, as read.lua does).
local function messageChanged(stateKey)
  redis.call('HINCRBY', stateKey, 'v', 1)
end
