-- The stored messages of a partition that have expired by nowMs, from its expiry index (keys.ts
-- `exp`): a due message entry (an id) is that message; a due run entry ('<first id> <last id>')
-- covers the stored ids in its range, except those with a message entry of their own (an update
-- gave them another ttl: that entry's score is their expiry). Costs what is due, which the
-- sweeper keeps small.
-- Returns a set id -> true and its size, or nil when more than `max` due entries or ids in due
-- runs were met (the caller then judges by the records' expiries, recordExpiry.lua).
local function expiredIds(expKey, idsKey, nowMs, max)
  local due = redis.call('ZRANGEBYSCORE', expKey, '-inf', nowMs, 'LIMIT', 0, max + 1)
  if #due > max then return nil end
  local dead, n = {}, 0
  local inRuns = {}
  for j = 1, #due do
    local m = due[j]
    if #m == 32 then
      if not dead[m] then
        dead[m] = true
        n = n + 1
      end
    else
      local ids = redis.call('ZRANGEBYLEX', idsKey, '[' .. string.sub(m, 1, 32), '[' .. string.sub(m, 34), 'LIMIT', 0, max + 1 - #inRuns)
      for i = 1, #ids do inRuns[#inRuns + 1] = ids[i] end
      if #inRuns > max then return nil end
    end
  end
  for s = 1, #inRuns, 500 do
    local e = math.min(s + 499, #inRuns)
    local own = redis.call('ZMSCORE', expKey, unpack(inRuns, s, e))
    for j = s, e do
      local mine = tonumber(own[j - s + 1])
      local id = inRuns[j]
      if (not mine or mine <= nowMs) and not dead[id] then
        dead[id] = true
        n = n + 1
      end
    end
  end
  return dead, n
end
