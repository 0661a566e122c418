-- A join's window of estimates (redis/calls.ts encodeJoinWindow): `lo w ` then one entry per place
-- lo, lo + 1, ..., each w characters (right-padded with spaces), `null` for no estimate.
-- Returns (estimate or nil, true) for a place inside the window, (nil, false) outside it.
-- An entry is read by tonumber as it is (Lua's accepts the trailing spaces; `null` is not a
-- number), not cut to its text first: a join reads one.
local function joinWindowEstimate(window, place)
  local lo, w, from = string.match(window, '^(%d+) (%d+) ()')
  lo, w = tonumber(lo), tonumber(w)
  local i = place - lo
  if i < 0 or from + (i + 1) * w - 1 > #window then return nil, false end
  local at = from + i * w
  return tonumber(string.sub(window, at, at + w - 1)), true
end
