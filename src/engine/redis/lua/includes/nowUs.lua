-- The server's clock in microseconds since the epoch. Every node of a deployment reads time from the
-- shard that owns the partition, so ids and expiry never depend on Holdline hosts' clocks.
local function nowUs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
