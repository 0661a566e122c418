--[[
  Appends messages to one partition and announces them on the partition's live channel, in one
  atomic step: the order of the history is the order of the live feed (SPEC.md section 1).

  Ids follow src/domain/ids.ts: timestampUs = max(server clock, last timestampUs) and
  seq = last seq + 1, so (timestampUs, seq) strictly increases even if the clock steps back
  (e.g. after a failover to a replica whose clock is behind).

  KEYS[1] ids    ZSET of ids (score 0)
  KEYS[2] msg    HASH id -> record
  KEYS[3] exp    ZSET id -> expiresAtMs
  KEYS[4] state  HASH ts, seq

  ARGV[1] live channel (a shard channel with the same hash tag as the keys)
  ARGV[2] partition number (1..255)
  ARGV[3..] six values per message, in append order:
          random16 (0..65535), ttl (seconds), body tag ('t' text, 'b' binary), body,
          content type ('-' none, '+<value>'), in-reply-to ('-' none, '+<id>')

  Publishes: one payload holding every appended record, each prefixed by its uint32 big-endian length.
  Returns: flat array, two entries per message in append order: id, expiresAtMs (decimal string).
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "numStr"
--- @include "recordEncode"

local state = rcall('HMGET', KEYS[4], 'ts', 'seq')
local ts = math.max(nowUs(), tonumber(state[1]) or 0)
local seq = tonumber(state[2]) or 0
local partition = tonumber(ARGV[2])
local tsMs = math.floor(ts / 1000)

local out = {}
local payload = {}
for i = 3, #ARGV, 6 do
  seq = seq + 1
  local id = string.format('%014x%012x%02x%04x', ts, seq, partition, tonumber(ARGV[i]))
  local expiresAt = tsMs + tonumber(ARGV[i + 1]) * 1000
  local fields = { i = id, l = ARGV[i + 1], e = numStr(expiresAt) }
  fields[ARGV[i + 2]] = ARGV[i + 3]
  if string.sub(ARGV[i + 4], 1, 1) == '+' then fields.c = string.sub(ARGV[i + 4], 2) end
  if string.sub(ARGV[i + 5], 1, 1) == '+' then fields.r = string.sub(ARGV[i + 5], 2) end
  local record = recordEncode(fields)
  rcall('ZADD', KEYS[1], 0, id)
  rcall('HSET', KEYS[2], id, record)
  rcall('ZADD', KEYS[3], expiresAt, id)
  payload[#payload + 1] = struct.pack('>I4', #record) .. record
  out[#out + 1] = id
  out[#out + 1] = fields.e
end

rcall('HSET', KEYS[4], 'ts', numStr(ts), 'seq', numStr(seq))
rcall('SPUBLISH', ARGV[1], table.concat(payload))
return out
