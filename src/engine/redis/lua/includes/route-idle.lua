-- 1 when routing has nothing to do in the queue, else 0 (protocol/routing.md section 3): strategy
-- manual, no open offer (KEYS[10]), no deadline (KEYS[11]), and no member state in the routing hash
-- (KEYS[12]) holding an offer, a routed call or a wrap-up, or left by a removed member (KEYS[6]):
-- what route-tick would fire or tidy; a manual queue's read decides nothing. Read by route-config's
-- `idle` and, in the same atomic step as their change, by the change scripts that routing follows
-- (a caller's, a member's, the queue's: KEYS[10..12] routing's keys).
local function routingIdle()
  if rcall('HLEN', KEYS[10]) > 0 or rcall('ZCARD', KEYS[11]) > 0 then return 0 end
  local all = rcall('HGETALL', KEYS[12])
  for i = 1, #all, 2 do
    local field = all[i]
    if field == 's' then
      if cjson.decode(all[i + 1]).strategy ~= 'manual' then return 0 end
    elseif string.sub(field, 1, 2) == 'm:' then
      local st = cjson.decode(all[i + 1])
      if st.offer ~= cjson.null or st.call_caller ~= cjson.null or st.wrapup_ms ~= cjson.null then return 0 end
      if rcall('HEXISTS', KEYS[6], string.sub(field, 3)) == 0 then return 0 end
    end
  end
  return 1
end
