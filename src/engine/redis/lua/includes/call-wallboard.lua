-- Wallboard buckets (src/engine/wallboard.ts, protocol/calls.md section 5.1): adds a vector of
-- WALLBOARD_FIELDS (offered answered abandoned timed_out transferred answered_within
-- abandoned_within answer_wait_ms handled handle_ms) to the minute and quarter-hour buckets of `now`
-- in the queue's meta hash KEYS[1], one counter per field and bucket: `wm:<minute>:<i>` and
-- `wq:<quarter>:<i>`, i the field's index from 0, incremented only where the delta is not 0 (a join
-- touches two counters; parsing and formatting a "n,n,..." vector per bucket cost a change about as
-- much as the rest of its script). The first change of a minute (`wb` names the last minute opened)
-- prunes minute buckets older than 60 minutes and quarter buckets older than 100 quarters, so a
-- queue holds at most 60 + 100 of them (deleting the queue deletes the hash). Fields `wm:<minute>`
-- and `wq:<quarter>` holding a whole vector are the layout before this one: read and pruned alike.
local function wallboardAdd(now, delta)
  local m = math.floor(now / 60000)
  local qt = math.floor(now / 900000)
  local ms, qs = string.format('%d', m), string.format('%d', qt)
  if rcall('HGET', KEYS[1], 'wb') ~= ms then
    for _, f in ipairs(rcall('HKEYS', KEYS[1])) do
      local kind, n = string.match(f, '^(w[mq]):(%d+)')
      if (kind == 'wm' and tonumber(n) <= m - 60) or (kind == 'wq' and tonumber(n) <= qt - 100) then
        rcall('HDEL', KEYS[1], f)
      end
    end
    rcall('HSET', KEYS[1], 'wb', ms)
  end
  for i = 1, 10 do
    local d = delta[i]
    if d ~= nil and d ~= 0 then
      rcall('HINCRBY', KEYS[1], 'wm:' .. ms .. ':' .. (i - 1), d)
      rcall('HINCRBY', KEYS[1], 'wq:' .. qs .. ':' .. (i - 1), d)
    end
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
