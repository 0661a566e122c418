--[[
  Creates a call queue's record (seq 0: creation is not a change anyone is subscribed to).

  KEYS[1..8] the call queue's keys, laid out in keys.ts (CallQueueKeys):
             meta stats callers line age members log channel

  ARGV[1] queue JSON without times (uuid fresh from the caller)

  Returns: the stored queue JSON. Errors: none.
]]
local rcall = redis.call
--- @include "call-now"

local q = cjson.decode(ARGV[1])
local now = nowMs()
q.created_ms = now
q.updated_ms = now
local json = cjson.encode(q)
rcall('HSET', KEYS[1], 'q', json, 'seq', 0, 'joinseq', 0)
return json
