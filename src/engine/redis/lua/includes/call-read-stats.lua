-- The raw counts of one queue at `now`; buildStats in src/engine/call-types.ts derives the figures.
local function readStats(q, now)
  local h = rcall('HGETALL', KEYS[2])
  local s = {}
  for i = 1, #h, 2 do s[h[i]] = tonumber(h[i + 1]) end
  local oldest = rcall('ZRANGE', KEYS[5], '0', '0', 'WITHSCORES')
  return {
    waiting = rcall('ZCARD', KEYS[4]),
    ringing = s.ringing or 0,
    connected = s.connected or 0,
    oldest_ms = oldest[2] and tonumber(oldest[2]) or cjson.null,
    members = rcall('HLEN', KEYS[6]),
    logged_in = s.logged_in or 0,
    available = s.available or 0,
    paused = s.paused or 0,
    completed = s.completed or 0,
    abandoned = s.abandoned or 0,
    timed_out = s.timed_out or 0,
    transferred = s.transferred or 0,
    answered_wait_ms = s.answered_wait_ms or 0,
    answered_within = s.answered_within or 0,
    sl_seconds = q.service_level_seconds,
    now_ms = now,
  }
end
