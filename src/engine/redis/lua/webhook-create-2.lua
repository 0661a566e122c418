--[[
  Registers a webhook endpoint with its first delivery state, unless the application has `max`.

  KEYS[1] hooks  HASH endpoint id -> endpoint JSON
  KEYS[2] state  HASH endpoint id -> delivery state JSON
  ARGV[1] endpoint id
  ARGV[2] endpoint JSON
  ARGV[3] delivery state JSON
  ARGV[4] the most endpoints an application may have

  Returns: 1.
  Errors: HL:webhook_limit when the application has ARGV[4] endpoints already.
]]
local rcall = redis.call
--- @include "call-fail"

if rcall('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then fail('webhook_limit') end
rcall('HSET', KEYS[1], ARGV[1], ARGV[2])
rcall('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
