--[[
  Gives a partition its queue's live marker, so append.lua accepts messages for it. Run by the
  engine when an append finds no marker, or an older incarnation's, and the catalogue holds the
  queue (a new queue's first append to each partition, a grown queue's new partitions, a queue
  created again after a deletion, data stored before markers existed).

  Incarnations: every queue creation draws a new, larger number (queue-create.lua), so a marker
  says which queue of that name it belongs to. A marker of an older incarnation belongs to a queue
  that was deleted (its data is dropped here if its own deletion has not done it yet); a tombstone
  '-<n>' (partition-drop.lua) of this incarnation means this queue is being deleted, and a caller
  that read the catalogue just before must not bring the partition back.

  KEYS[1] ids  KEYS[2] msg  KEYS[3] exp  KEYS[4] state (field q: '+<n>' live, '-<n>' deleted)
  KEYS[5] stated  KEYS[6] unset  KEYS[7] updated  KEYS[8] replies (the processing-state indexes, keys.ts)
  ARGV[1] incarnation number of the queue, as the catalogue holds it

  Returns: 1 when the partition is live for this incarnation; 0 when this incarnation's partition
  was deleted or a newer incarnation owns it (the caller's view of the catalogue is out of date).
  Errors: none of its own.
]]
local rcall = redis.call

local inc = tonumber(ARGV[1])
local q = rcall('HGET', KEYS[4], 'q')
if q then
  local live = string.sub(q, 1, 1) == '+'
  local current = tonumber(string.sub(q, 2)) or -1
  if current > inc then return 0 end
  if current == inc then return live and 1 or 0 end
  rcall('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
  rcall('HDEL', KEYS[4], 'w')
end
-- No marker at all: data written before markers existed is this queue's, and is kept.
rcall('HSET', KEYS[4], 'q', '+' .. ARGV[1])
rcall('PERSIST', KEYS[4])
return 1
