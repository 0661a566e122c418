-- Takes up to `max` more ids of the partition, after the watermark (state field w), into the
-- processing-state indexes (src/engine/redis/keys.ts): each goes into `unset` (a message after the
-- watermark has no client_state) and, when it answers a message, into `replies`. Each id is taken
-- in once in its life, so the cost is paid once per message, not per read.
-- Returns the watermark after ('' while the partition has none), true when no id is left after
-- it, and how many ids this call took in.
--- @include "recordIndexFields"
local function indexCatchUp(idsKey, msgKey, stateKey, unsetKey, repliesKey, max)
  local w = redis.call('HGET', stateKey, 'w') or ''
  local ids = redis.call('ZRANGEBYLEX', idsKey, w == '' and '-' or '(' .. w, '+', 'LIMIT', 0, max)
  if #ids == 0 then return w, true, 0 end
  for s = 1, #ids, 500 do
    local chunk = { unpack(ids, s, math.min(s + 499, #ids)) }
    local records = redis.call('HMGET', msgKey, unpack(chunk))
    local unset, replies = {}, {}
    for j = 1, #chunk do
      if records[j] then
        unset[#unset + 1] = 0
        unset[#unset + 1] = chunk[j]
        local _, r = recordIndexFields(records[j])
        if r then
          replies[#replies + 1] = 0
          replies[#replies + 1] = r .. ' ' .. chunk[j]
        end
      end
    end
    if #unset > 0 then redis.call('ZADD', unsetKey, unpack(unset)) end
    if #replies > 0 then redis.call('ZADD', repliesKey, unpack(replies)) end
  end
  w = ids[#ids]
  redis.call('HSET', stateKey, 'w', w)
  return w, #ids < max, #ids
end
