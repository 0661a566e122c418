-- The queue's earliest routing deadline (KEYS[11]: offer expiries 'o:<id>', wrap-up ends 'w:<agent>'), or cjson.null.
local function nextDeadline()
  local first = rcall('ZRANGE', KEYS[11], 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) end
  return cjson.null
end
