-- Moves a caller to `status` with `member` (cjson.null for none) and `priority` (nil: its own), keeping
-- the line, the ringing/connected counters and the age index, and emits its caller_updated change;
-- the change JSON. The one body of a caller's move: call-caller-update.lua (after its checks) and
-- routing's scripts both call it.
local function callerTo(q, c, status, member, now, retention, priority)
  priority = priority or c.priority
  local old = c.status
  local changed = {}
  if priority ~= c.priority then changed[#changed + 1] = 'priority' end
  if status ~= old then changed[#changed + 1] = 'status' end
  if member ~= c.member_uuid then changed[#changed + 1] = 'member_uuid' end
  local from = cjson.null
  if old == 'waiting' then
    from = rcall('ZRANK', KEYS[4], c.uuid)
    rcall('ZREM', KEYS[4], c.uuid)
  end
  c.priority = priority
  c.member_uuid = member
  if status ~= old then
    c.status = status
    c.status_ms = now
    if old == 'ringing' then rcall('HINCRBY', KEYS[2], 'ringing', -1) end
    if status == 'ringing' then rcall('HINCRBY', KEYS[2], 'ringing', 1) end
    if status == 'connected' then
      c.connected_ms = now
      rcall('HINCRBY', KEYS[2], 'connected', 1)
      rcall('ZREM', KEYS[5], c.uuid)
    end
  end
  rcall('HSET', KEYS[3], c.uuid, cjson.encode(c))
  local to = cjson.null
  if status == 'waiting' then
    rcall('ZADD', KEYS[4], lineScore(c.priority, c.join_seq), c.uuid)
    to = rcall('ZRANK', KEYS[4], c.uuid)
  end
  c.position = to
  local change = { queue_id = q.uuid, kind = 'caller_updated', caller = c, changed = changed, stats = readStats(q, now) }
  if from ~= to then change.line = { uuid = c.uuid, from = from, to = to, length = rcall('ZCARD', KEYS[4]) } end
  return emit(retention, now, change)
end
