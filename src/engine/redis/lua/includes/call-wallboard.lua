-- Wallboard buckets (src/engine/wallboard.ts, protocol/calls.md section 5.1) in the queue's meta
-- hash KEYS[1]: a change adds its vector of WALLBOARD_FIELDS (offered answered abandoned timed_out
-- transferred answered_within abandoned_within answer_wait_ms handled handle_ms) to its minute
-- only, one counter per non-zero field, `wn:<minute>:<i>` (i the field's index from 0): a join
-- touches one counter, an abandon two. A minute's counters count in its quarter hour too
-- (parseBucketFields adds them in), until the first change of a later minute folds the minutes
-- older than 60 into their quarter's `wq:<quarter>:<i>` (the `today` window reads quarters; the
-- 15m and 1h windows only the last 60 minutes) and deletes quarters older than 100; `wb` names
-- the minute last opened. So a queue holds at most 60 + 100 buckets (deleting the queue deletes
-- the hash). Layouts written before, read and pruned alike: `wm:<minute>:<i>` and `wm:<minute>`
-- (a whole "n,n,..." vector) minutes already counted in `wq:<quarter>[:<i>]` too.

-- The first change of minute `m` (text `ms`): folds and prunes as above, then marks `m` opened.
local function wallboardTurn(m, ms)
  local qt = math.floor(m / 15)
  local h = rcall('HGETALL', KEYS[1])
  for i = 1, #h, 2 do
    local f = h[i]
    local kind, n, at = string.match(f, '^(w[mnq]):(%d+):?(%d*)$')
    if kind ~= nil then
      n = tonumber(n)
      if kind == 'wn' then
        if n <= m - 60 then
          local into = math.floor(n / 15)
          if into > qt - 100 and at ~= '' then rcall('HINCRBY', KEYS[1], 'wq:' .. string.format('%d', into) .. ':' .. at, h[i + 1]) end
          rcall('HDEL', KEYS[1], f)
        end
      elseif (kind == 'wm' and n <= m - 60) or (kind == 'wq' and n <= qt - 100) then
        rcall('HDEL', KEYS[1], f)
      end
    end
  end
  rcall('HSET', KEYS[1], 'wb', ms)
end

-- Adds `delta` (a table index -> count, 1-based in WALLBOARD_FIELDS order; absent or 0: nothing)
-- to the minute of `now`; `opened` is the meta hash's `wb` as the script read it.
local function wallboardAdd(now, delta, opened)
  local m = math.floor(now / 60000)
  local ms = string.format('%d', m)
  if opened ~= ms then wallboardTurn(m, ms) end
  local prefix = 'wn:' .. ms .. ':'
  for i = 1, 10 do
    local d = delta[i]
    -- Texts, not numbers: Redis spells a number argument with printf (call-emit.lua).
    if d ~= nil and d ~= 0 then rcall('HINCRBY', KEYS[1], prefix .. string.sub('0123456789', i, i), d == 1 and '1' or d) end
  end
end

-- A caller leaving with `reason` after waiting `waitMs`; `c` its record (connected_ms set when it
-- was connected), `q` the queue (its service_level_seconds); leaveDelta in wallboard.ts.
local function wallboardLeave(now, reason, waitMs, c, q, opened)
  local within = waitMs <= q.service_level_seconds * 1000 and 1 or 0
  local d = {}
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
  wallboardAdd(now, d, opened)
end
