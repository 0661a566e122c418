-- 1 when routing has nothing to do in the queue, else 0 (protocol/routing.md section 3): strategy
-- manual, no open offer (KEYS[10]), no deadline (KEYS[11]), and no member state in the routing hash
-- (KEYS[12]) holding an offer, a routed call or a wrap-up, or left by a removed member (KEYS[6]):
-- what route-tick would fire or tidy; a manual queue's read decides nothing. Read by route-config's
-- `idle` and, in the same atomic step as their change, by the change scripts that routing follows
-- (a caller's, a member's, the queue's: KEYS[10..12] routing's keys).
-- Cheapest first: a queue routing never wrote to has none of the three keys (Redis deletes an empty
-- hash or sorted set), one EXISTS; a routed queue answers from its settings; only a manual queue
-- holding member states is read whole.
local function routingIdle()
  if rcall('EXISTS', KEYS[10], KEYS[11], KEYS[12]) == 0 then return 1 end
  local settings = rcall('HGET', KEYS[12], 's')
  if settings and cjson.decode(settings).strategy ~= 'manual' then return 0 end
  if rcall('HLEN', KEYS[10]) > 0 or rcall('ZCARD', KEYS[11]) > 0 then return 0 end
  local all = rcall('HGETALL', KEYS[12])
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, 1, 2) == 'm:' then
      local st = cjson.decode(all[i + 1])
      if st.offer ~= cjson.null or st.call_caller ~= cjson.null or st.wrapup_ms ~= cjson.null then return 0 end
      if rcall('HEXISTS', KEYS[6], string.sub(field, 3)) == 0 then return 0 end
    end
  end
  return 1
end
