--[[
  Agents' tags and memberships for routing (protocol/routing.md section 5, step 1), read in the
  application's slot. Writes nothing.

  KEYS[1] tags         HASH  tag id -> name            (CallAppScriptKeys.tags)
  KEYS[2] agenttags    HASH  agent -> JSON tag ids     (CallAppScriptKeys.agentTags)
  KEYS[3] agentqueues  HASH  agent -> JSON queue ids   (CallAppScriptKeys.agentQueues)

  ARGV[1] tags <agent>...  -> for each agent, a JSON array of its tag names ('[]' for none)
          queues <agent>   -> JSON array of its queue ids, or ''

  Errors: none.
]]
local rcall = redis.call
if ARGV[1] == 'queues' then return rcall('HGET', KEYS[3], ARGV[2]) or '' end
local out = {}
for i = 2, #ARGV do
  local raw = rcall('HGET', KEYS[2], ARGV[i])
  local names = {}
  if raw then
    for _, id in ipairs(cjson.decode(raw)) do
      local name = rcall('HGET', KEYS[1], tostring(id))
      if name then names[#names + 1] = name end
    end
  end
  out[#out + 1] = #names == 0 and '[]' or cjson.encode(names)
end
return out
