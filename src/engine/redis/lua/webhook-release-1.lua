--[[
  Gives an endpoint's lease up, if the caller still holds it (another node may take it at once).

  KEYS[1] lease  STRING holder id, expiring
  ARGV[1] holder id

  Returns: 1 when released, 0 when the caller did not hold it.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('GET', KEYS[1]) == ARGV[1] then
  rcall('DEL', KEYS[1])
  return 1
end
return 0
