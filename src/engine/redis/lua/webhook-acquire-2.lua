--[[
  Takes (or renews) an endpoint's lease: one node at a time delivers to an endpoint.

  KEYS[1] lease  STRING holder id, expiring
  KEYS[2] hooks  HASH endpoint id -> endpoint JSON (the endpoint must exist)
  ARGV[1] holder id
  ARGV[2] lease duration, ms
  ARGV[3] endpoint id

  Returns: 1 when ARGV[1] holds the lease now, 0 when another holder has it or the endpoint is gone.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
local current = rcall('GET', KEYS[1])
if current == false then
  rcall('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  rcall('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
