-- Wallboard buckets (src/engine/wallboard.ts, protocol/calls.md section 5.1): adds a vector of
-- WALLBOARD_FIELDS (offered answered abandoned timed_out transferred answered_within
-- abandoned_within answer_wait_ms handled handle_ms) to the minute (`wm:<minute>`) and quarter-hour
-- (`wq:<quarter>`) buckets of `now` in the queue's meta hash KEYS[1], as "n,n,...". Opening a new
-- minute bucket prunes minute buckets older than 60 minutes and quarter buckets older than 100
-- quarters, so a queue holds at most 60 + 100 of them (deleting the queue deletes the hash).
local function wallboardAdd(now, delta)
  local m = math.floor(now / 60000)
  local qt = math.floor(now / 900000)
  local mf = 'wm:' .. m
  if rcall('HEXISTS', KEYS[1], mf) == 0 then
    for _, f in ipairs(rcall('HKEYS', KEYS[1])) do
      local kind, n = string.match(f, '^(w[mq]):(%d+)$')
      if (kind == 'wm' and tonumber(n) <= m - 60) or (kind == 'wq' and tonumber(n) <= qt - 100) then
        rcall('HDEL', KEYS[1], f)
      end
    end
  end
  for _, f in ipairs({ mf, 'wq:' .. qt }) do
    local v = {}
    local cur = rcall('HGET', KEYS[1], f)
    if cur then for x in string.gmatch(cur, '[^,]+') do v[#v + 1] = tonumber(x) end end
    local out = {}
    for i = 1, 10 do out[i] = string.format('%d', (v[i] or 0) + (delta[i] or 0)) end
    rcall('HSET', KEYS[1], f, table.concat(out, ','))
  end
end

-- A caller leaving with `reason` after waiting `waitMs`; `c` its record (connected_ms set when it
-- was connected), `q` the queue (its service_level_seconds); leaveDelta in wallboard.ts.
local function wallboardLeave(now, reason, waitMs, c, q)
  local within = waitMs <= q.service_level_seconds * 1000 and 1 or 0
  local d = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
  if reason == 'answered' then
    d[2] = 1; d[6] = within; d[8] = waitMs
  elseif reason == 'abandoned' then
    d[3] = 1; d[7] = within
  elseif reason == 'timeout' then
    d[4] = 1
  else
    d[5] = 1
  end
  if c.connected_ms ~= nil and c.connected_ms ~= cjson.null then
    d[9] = 1; d[10] = now - c.connected_ms
  end
  wallboardAdd(now, d)
end
