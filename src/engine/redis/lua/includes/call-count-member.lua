-- Adds (sign 1) or removes (sign -1) one member's share of the member counters in KEYS[2]; the
-- same definition as memberCounts in src/engine/call-types.ts.
local function countMember(m, sign)
  if m.status == 'logged_out' then return end
  rcall('HINCRBY', KEYS[2], 'logged_in', sign)
  if m.paused then
    rcall('HINCRBY', KEYS[2], 'paused', sign)
  elseif m.status == 'available' then
    rcall('HINCRBY', KEYS[2], 'available', sign)
  end
end
