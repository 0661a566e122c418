--[[
  A filtered read of one partition (SPEC.md 3.5): up to `limit` live messages matching every
  condition, from a cursor, in partition order or its reverse. It walks an index, never the
  partition (keys.ts): the replies of a message ('<in_reply_to> <id>' in `replies`), else each
  asked state's ids ('<state> <id>' in `stated`; unset: `unset` up to the watermark, then the ids
  after it, which have no state), else the messages changed in the updated_since/until window
  (`updated`, by score); with both states and a window, whichever holds fewer entries (ZCOUNT /
  ZLEXCOUNT, O(log n)). Each source is in id order, so a cursor is a bound in it; the other
  conditions are checked on the candidates (updated time by ZMSCORE, state from the record), and
  expired messages are skipped. So the cost follows what is returned: about `limit` index entries
  per source when the leading condition is the selective one; for a read by update time alone,
  every entry of the window (protocol/rest.md "Filtered reads").

  KEYS[1] ids      ZSET of ids (score 0)
  KEYS[2] msg      HASH id -> record
  KEYS[3] exp      ZSET the expiry index (keys.ts)
  KEYS[4] state    HASH: w, the index watermark
  KEYS[5] stated   ZSET '<client_state> <id>'
  KEYS[6] unset    ZSET ids without a client_state, up to the watermark
  KEYS[7] updated  ZSET id -> updatedAtUs
  KEYS[8] replies  ZSET '<in_reply_to> <id>'

  ARGV[1] order: 'a' ascending, 'd' descending
  ARGV[2] cursor: '' none, else an id, inclusive: the lower bound ascending, the upper descending
  ARGV[3] limit (1..1000)
  ARGV[4] at most this many ids are taken into the indexes by this call (indexCatchUp)
  ARGV[5] updated since (updatedAtUs >=), or ''
  ARGV[6] updated until (updatedAtUs <=), or ''
  ARGV[7] in_reply_to: the replied message's id, or ''
  ARGV[8] 'i': return the messages' ids instead of their records (the engine HMGETs them, as
          read.lua's callers do: cheaper for Redis than records through Lua); 'r': the records
  ARGV[9..] the states asked ('' stands for unset); none: any state

  Returns: { index entries touched (ids taken into the indexes included), 1 when the replies index
          is behind (nothing read: the engine calls again) else 0, the ids or records... } in the
          requested order.
  Errors: none of its own.
]]
local rcall = redis.call
--- @include "nowUs"
--- @include "indexCatchUp"
--- @include "expiredIds"
--- @include "recordExpiry"

local nowMs = math.floor(nowUs() / 1000)
-- The expired messages not reclaimed yet, found once (few while the sweeper keeps up; read.lua);
-- past DEAD_MAX, candidates are judged by their records' expiries.
local DEAD_MAX = 256
local isDead = expiredIds(KEYS[3], KEYS[1], nowMs, DEAD_MAX)
local ascending = ARGV[1] == 'a'
local cursor = ARGV[2] ~= '' and ARGV[2] or nil
local limit = tonumber(ARGV[3])
local since = ARGV[5] ~= '' and tonumber(ARGV[5]) or nil
local untilUs = ARGV[6] ~= '' and tonumber(ARGV[6]) or nil
local parent = ARGV[7] ~= '' and ARGV[7] or nil
local states = {}
local idsOnly = ARGV[8] == 'i'
for i = 9, #ARGV do states[#states + 1] = ARGV[i] end
local touched = 0

-- Bounds are { id, inclusive } or nil (open); the tighter of two lower / upper bounds.
local function maxLo(a, b)
  if not a then return b end
  if not b then return a end
  if a[1] ~= b[1] then return a[1] > b[1] and a or b end
  return a[2] and b or a
end
local function minHi(a, b)
  if not a then return b end
  if not b then return a end
  if a[1] ~= b[1] then return a[1] < b[1] and a or b end
  return a[2] and b or a
end
local function lexBound(prefix, b, isLo)
  if not b then
    if prefix == '' then return isLo and '-' or '+' end
    return isLo and ('[' .. prefix .. ' ') or ('[' .. prefix .. ' ~')
  end
  return (b[2] and '[' or '(') .. (prefix == '' and b[1] or (prefix .. ' ' .. b[1]))
end

local needState = #states > 0
local wanted = {}
for _, s in ipairs(states) do wanted[s] = true end

-- The candidates that are live and meet the conditions their source does not imply.
local function accept(ids, checkState, checkUpdated)
  local out = {}
  local upd = nil
  if checkUpdated and (since or untilUs) then upd = rcall('ZMSCORE', KEYS[7], unpack(ids)) end
  local records = nil
  if (checkState and needState) or not isDead then records = rcall('HMGET', KEYS[2], unpack(ids)) end
  for j = 1, #ids do
    local ok
    if isDead then
      ok = not isDead[ids[j]]
    else
      local e = records[j] and recordExpiry(records[j])
      ok = e and e > nowMs or false
    end
    if ok and upd then
      local u = tonumber(upd[j])
      ok = u ~= nil and (not since or u >= since) and (not untilUs or u <= untilUs)
    end
    if ok and checkState and needState then
      local s = records[j] and recordIndexFields(records[j]) or nil
      ok = records[j] and wanted[s or ''] or false
    end
    if ok then out[#out + 1] = ids[j] end
  end
  return out
end

-- Up to `limit` accepted ids of one lex source (members '<prefix> <id>', or bare ids when prefix is '').
local function collect(key, prefix, lo, hi, checkState, checkUpdated, found)
  if ascending then lo = maxLo(lo, cursor and { cursor, true }) else hi = minHi(hi, cursor and { cursor, true }) end
  local got = 0
  local strip = prefix == '' and 0 or #prefix + 1
  while got < limit do
    local batch = limit - got
    local members
    if ascending then
      members = rcall('ZRANGEBYLEX', key, lexBound(prefix, lo, true), lexBound(prefix, hi, false), 'LIMIT', 0, batch)
    else
      members = rcall('ZREVRANGEBYLEX', key, lexBound(prefix, hi, false), lexBound(prefix, lo, true), 'LIMIT', 0, batch)
    end
    touched = touched + #members
    if #members == 0 then break end
    local ids = members
    if strip > 0 then
      ids = {}
      for j = 1, #members do ids[j] = string.sub(members[j], strip + 1) end
    end
    for _, id in ipairs(accept(ids, checkState, checkUpdated)) do
      found[#found + 1] = id
      got = got + 1
    end
    if #members < batch then break end
    local last = ids[#ids]
    if ascending then lo = { last, false } else hi = { last, false } end
  end
end

-- States and an update window: lead with whichever holds fewer entries (counts are O(log n)).
local byWindow = not parent and not needState
if not parent and needState and (since or untilUs) then
  local inWindow = rcall('ZCOUNT', KEYS[7], since or '-inf', untilUs or '+inf')
  local inStates = 0
  local w = rcall('HGET', KEYS[4], 'w') or ''
  for _, s in ipairs(states) do
    if s == '' then
      inStates = inStates + rcall('ZCARD', KEYS[6]) + rcall('ZLEXCOUNT', KEYS[1], w == '' and '-' or '(' .. w, '+')
    else
      inStates = inStates + rcall('ZLEXCOUNT', KEYS[5], '[' .. s .. ' ', '[' .. s .. ' ~')
    end
  end
  byWindow = inWindow <= inStates
end

local found = {}
if parent then
  local _, done, taken = indexCatchUp(KEYS[1], KEYS[2], KEYS[4], KEYS[6], KEYS[8], tonumber(ARGV[4]))
  touched = touched + taken
  if not done then return { touched, 1 } end
  collect(KEYS[8], parent, nil, nil, true, true, found)
elseif not byWindow then
  local w = rcall('HGET', KEYS[4], 'w') or ''
  for _, s in ipairs(states) do
    if s == '' then
      if w ~= '' then collect(KEYS[6], '', nil, { w, true }, false, true, found) end
      collect(KEYS[1], '', w ~= '' and { w, false } or nil, nil, false, true, found)
    else
      collect(KEYS[5], s, nil, nil, false, true, found)
    end
  end
else
  -- By update time (alone, or the smaller source): the window's entries, then cursor, order and
  -- limit on their ids.
  local window = rcall('ZRANGEBYSCORE', KEYS[7], since or '-inf', untilUs or '+inf')
  touched = touched + #window
  local inRange = {}
  for _, id in ipairs(window) do
    if not cursor or (ascending and id >= cursor) or (not ascending and id <= cursor) then inRange[#inRange + 1] = id end
  end
  for s = 1, #inRange, 500 do
    for _, id in ipairs(accept({ unpack(inRange, s, math.min(s + 499, #inRange)) }, true, false)) do found[#found + 1] = id end
  end
end

if ascending then table.sort(found) else table.sort(found, function(a, b) return a > b end) end
local out = { touched, 0 }
local n = math.min(limit, #found)
if idsOnly then
  for j = 1, n do out[#out + 1] = found[j] end
elseif n > 0 then
  local records = rcall('HMGET', KEYS[2], unpack(found, 1, n))
  for j = 1, n do
    if records[j] then out[#out + 1] = records[j] end
  end
end
return out
