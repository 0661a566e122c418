-- Removes messages from every processing-state index (src/engine/redis/keys.ts), given their
-- records as stored (false: none), in the script that deletes or reclaims them.
--- @include "recordIndexFields"
local function indexUnlink(statedKey, unsetKey, updatedKey, repliesKey, ids, records)
  local stated, replies = {}, {}
  for j = 1, #ids do
    if records[j] then
      local s, r = recordIndexFields(records[j])
      if s then stated[#stated + 1] = s .. ' ' .. ids[j] end
      if r then replies[#replies + 1] = r .. ' ' .. ids[j] end
    end
  end
  for s = 1, #ids, 500 do
    local e = math.min(s + 499, #ids)
    redis.call('ZREM', unsetKey, unpack(ids, s, e))
    redis.call('ZREM', updatedKey, unpack(ids, s, e))
  end
  for s = 1, #stated, 500 do redis.call('ZREM', statedKey, unpack(stated, s, math.min(s + 499, #stated))) end
  for s = 1, #replies, 500 do redis.call('ZREM', repliesKey, unpack(replies, s, math.min(s + 499, #replies))) end
end
