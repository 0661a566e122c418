-- The estimate a joining caller is given behind `ahead` callers (protocol/routing.md section 9), on
-- the curve the node computed for it (src/domain/calls/estimate.ts joinCurve): estimateOnCurve's
-- steps (Capacity.reaches from its start, then tenths), on the same doubles in the same order, so it
-- is the value the node would have given for that count to the last bit. Lua numbers are doubles;
-- jsRound is JavaScript's Math.round (halves up; x - floor(x) is exact).
-- curve: `counts cycle (at step rate)*`, space separated (redis/calls.ts encodeJoinCurve).
local function joinEstimate(curve, ahead)
  local v = {}
  for w in string.gmatch(curve, '%S+') do v[#v + 1] = tonumber(w) end
  local cycle = v[2]
  local m = (v[1] == 1 and ahead or 0) + 2 / 3
  local n, rate, t = 0, 0, 0
  local at
  if n >= m - 1e-9 then
    at = t
  else
    for i = 3, #v - 2, 3 do
      local before = n + (rate * (v[i] - t)) / cycle
      if before >= m then
        at = t + ((m - n) * cycle) / rate
        break
      end
      n = before + v[i + 1]
      rate = rate + v[i + 2]
      t = v[i]
      if n >= m - 1e-9 then
        at = t
        break
      end
    end
    if at == nil then at = t + ((m - n) * cycle) / rate end
  end
  local function jsRound(x)
    local f = math.floor(x)
    if x - f >= 0.5 then return f + 1 end
    return f
  end
  return jsRound(jsRound(at * 1e6) / 1e5) / 10
end
