--[[
  Stores an endpoint's delivery state, fenced by its lease: a node whose lease expired (it paused,
  another node took over) cannot move the cursor back or forth.

  KEYS[1] lease  STRING holder id, expiring
  KEYS[2] hooks  HASH endpoint id -> endpoint JSON (the endpoint must exist)
  KEYS[3] state  HASH endpoint id -> delivery state JSON
  ARGV[1] holder id
  ARGV[2] endpoint id
  ARGV[3] delivery state JSON

  Returns: 1 when stored, 0 when the caller no longer holds the lease or the endpoint is gone.
  Errors: none of its own.
]]
local rcall = redis.call

if rcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if rcall('HEXISTS', KEYS[2], ARGV[2]) == 0 then return 0 end
rcall('HSET', KEYS[3], ARGV[2], ARGV[3])
return 1
