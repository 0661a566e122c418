-- Changes a member's number, status and/or pause (counters, times) and emits member_updated; the
-- change JSON, or nil when nothing changed. The one body of a member's change: call-member-update.lua
-- and routing's scripts both call it.
local function memberTo(q, m, patch, now, retention)
  local cur = cjson.decode(cjson.encode(m))
  if patch.number ~= nil then m.number = patch.number end
  if patch.status ~= nil and patch.status ~= m.status then
    m.status = patch.status
    m.status_ms = now
  end
  if patch.paused ~= nil and patch.paused ~= m.paused then
    m.paused = patch.paused
    m.paused_ms = patch.paused and now or cjson.null
  end
  if patch.pause_reason ~= nil then m.pause_reason = patch.pause_reason end
  if not m.paused then m.pause_reason = cjson.null end
  local changed = {}
  for _, f in ipairs({ 'number', 'paused', 'pause_reason', 'status' }) do
    if m[f] ~= cur[f] then changed[#changed + 1] = f end
  end
  if #changed == 0 then return nil end
  countMember(cur, -1)
  countMember(m, 1)
  rcall('HSET', KEYS[6], m.uuid, cjson.encode(m))
  return emit(retention, now, { queue_id = q.uuid, kind = 'member_updated', member = m, changed = changed, stats = readStats(q, now) })
end
