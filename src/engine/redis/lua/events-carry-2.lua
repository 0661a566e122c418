--[[
  Carries an application's event numbering across the event index change (README "Upgrading
  across the event index change"): a log in the new layout that has numbered no event yet starts
  after the last seq of the log an earlier version kept, so a cursor saved against the old log (a
  webhook endpoint's delivery state) is behind the new log, not ahead of it: the endpoint is told
  its undelivered old events are gone ("lost") and gets every new event, instead of skipping the
  new log's first events until it passes the old number. Run by a node before its first relay into
  the log (events.ts ensureLog); atomic, so two nodes carrying at once carry once.

  KEYS[1] the new log's meta (keys.ts EventLogKeys meta: seq, first)
  KEYS[2] the old log's meta (keys.ts eventLogBefore13, its first key: seq)

  Returns: the seq carried over, or 0 (the new log has a seq already, or there is no old log).
]]
if redis.call('HEXISTS', KEYS[1], 'seq') == 1 then return 0 end
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if seq == nil or seq < 1 then return 0 end
redis.call('HSET', KEYS[1], 'seq', seq, 'first', seq + 1)
return seq
