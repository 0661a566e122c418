--[[
  Removes a webhook endpoint, its delivery state and its lease (a node delivering to it then fails
  its next webhook-save and stops).

  KEYS[1] hooks  HASH endpoint id -> endpoint JSON
  KEYS[2] state  HASH endpoint id -> delivery state JSON
  KEYS[3] lease  STRING the endpoint's lease
  ARGV[1] endpoint id

  Returns: 1 when the endpoint existed, else 0.
  Errors: none of its own.
]]
local rcall = redis.call

local existed = rcall('HDEL', KEYS[1], ARGV[1])
rcall('HDEL', KEYS[2], ARGV[1])
rcall('DEL', KEYS[3])
return existed
