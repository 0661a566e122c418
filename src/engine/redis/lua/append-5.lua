--[[
  Appends messages to one partition and announces them on the partition's live channel, in one
  atomic step: the order of the history is the order of the live feed (SPEC.md section 1). The
  engine may combine several concurrent appends to the partition into one call (appender.ts); each
  keeps its messages together and in order.

  Ids follow src/domain/ids.ts: timestampUs = max(server clock, last timestampUs) and
  seq = last seq + 1, so (timestampUs, seq) strictly increases even if the clock steps back
  (e.g. after a failover to a replica whose clock is behind).

  The partition must carry the live marker of the queue the engine means (state field q =
  '+<incarnation>', see partition-mark.lua): a queue deleted concurrently has replaced it with a
  tombstone (partition-drop.lua), and a queue of the same name created since has another
  incarnation, so nothing is stored for a queue that no longer exists, nor mixed into another one,
  without asking the catalogue in another slot.

  KEYS[1] ids    ZSET of ids (score 0)
  KEYS[2] msg    HASH id -> record
  KEYS[3] exp    ZSET the expiry index (keys.ts): one entry per run of messages sharing a ttl
  KEYS[4] state  HASH ts, seq, q
  KEYS[5] live   the live channel (a shard channel with the same hash tag as the keys)

  ARGV[1] partition number (1..255)
  ARGV[2] the expected marker, '+<incarnation>'
  ARGV[3] every message, in append order, packed one after the other (partition-scripts.ts appendArgs):
          the id's random part (0..65535, uint32 big-endian), ttl (seconds, uint32 big-endian), the length
          of what follows (uint32 big-endian), then the record's fields after i, l and e, already
          encoded by the engine (record.ts: t or b, then c and r when present)

  Publishes: the batch in one payload (record.ts decodePayload): the byte 1 (the format), the
          batch's timestampUs and first seq (doubles, big-endian), the partition (uint8), the
          message count (uint32 big-endian), then ARGV[3] as it came. Subscribers spell each id,
          ttl and expiry from those exactly as this script does, so no record is packed again here
          for the payload.
  Returns: the partition's marker as it is ('' when none) when it is not the expected one (nothing
          stored); otherwise { the partition's earliest expiresAtMs after the append, 1 when that
          is lower than before (or the partition was empty) else 0, the batch's timestampUs, the
          first message's seq } (numbers as decimal strings). That is enough for the engine to
          spell every id and expiry as this script did (partition-scripts.ts parseAppendReply),
          so a large batch's reply stays four values.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "numStr"

local state = rcall('HMGET', KEYS[4], 'ts', 'seq', 'q')
if state[3] ~= ARGV[2] then return state[3] or '' end

local ts = math.max(nowUs(), tonumber(state[1]) or 0)
local seq = tonumber(state[2]) or 0
local firstSeq = seq + 1
local partition = tonumber(ARGV[1])
local tsMs = math.floor(ts / 1000)
local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local before = first[2] and tonumber(first[2]) or nil
local earliest = before

local pack = struct.pack
local ids, records, expiries = {}, {}, {}
-- Per batch, not per message: the id's timestamp and partition parts, the id field's header, and
-- the ttl-dependent fields (a batch usually has one ttl).
local idFormat = string.format('%014x', ts) .. '%012x' .. string.format('%02x', partition) .. '%04x'
local iHeader = 'i' .. pack('>I4', 32)
local byTtl = {}
local packed = ARGV[3]
local size = #packed
local sub, unpackInt, format = string.sub, struct.unpack, string.format
local pos = 1
local count = 0
local n, r = 0, 0
-- The expiry index takes one entry per run of consecutive messages with the same ttl, not one per
-- message (keys.ts): '<first id> <last id>', or the id alone for a run of one.
local runTtl, runFirst, runLast, fields
while pos <= size do
  seq = seq + 1
  count = count + 1
  local random, ttl, length = unpackInt('>I4I4I4', packed, pos)
  -- One format, one string: every piece of the id a string of its own was an interned allocation.
  local id = format(idFormat, seq, random)
  if ttl ~= runTtl then
    local t = byTtl[ttl]
    if not t then
      local expiresAt = tsMs + ttl * 1000
      local e = numStr(expiresAt)
      local l = numStr(ttl)
      -- Field order i, l, e, then the rest: recordEncode's fixed order (lua/includes/recordEncode.lua).
      t = { expiresAt = expiresAt, fields = 'l' .. pack('>I4', #l) .. l .. 'e' .. pack('>I4', #e) .. e }
      byTtl[ttl] = t
      if not earliest or expiresAt < earliest then earliest = expiresAt end
    end
    if runTtl then
      expiries[r + 1] = byTtl[runTtl].expiresAt
      expiries[r + 2] = runFirst == runLast and runFirst or runFirst .. ' ' .. runLast
      r = r + 2
    end
    runTtl, runFirst, fields = ttl, id, t.fields
  end
  runLast = id
  local tail = sub(packed, pos + 12, pos + 11 + length)
  pos = pos + 12 + length
  -- Strings ('0', not 0): a number argument is formatted by Redis for every element.
  ids[n + 1] = '0'
  ids[n + 2] = id
  records[n + 1] = id
  records[n + 2] = iHeader .. id .. fields .. tail
  n = n + 2
end
if runTtl then
  expiries[r + 1] = byTtl[runTtl].expiresAt
  expiries[r + 2] = runFirst == runLast and runFirst or runFirst .. ' ' .. runLast
end

-- Variadic writes in bounded chunks: unpack() is limited by the Lua C stack.
local function each(command, key, list)
  for s = 1, #list, 1000 do
    rcall(command, key, unpack(list, s, math.min(s + 999, #list)))
  end
end
each('ZADD', KEYS[1], ids)
each('HSET', KEYS[2], records)
each('ZADD', KEYS[3], expiries)

rcall('HSET', KEYS[4], 'ts', numStr(ts), 'seq', numStr(seq))
rcall('SPUBLISH', KEYS[5], pack('>BddBI4', 1, ts, firstSeq, partition, count) .. packed)
return { numStr(earliest), (before == nil or earliest < before) and 1 or 0, numStr(ts), numStr(firstSeq) }
