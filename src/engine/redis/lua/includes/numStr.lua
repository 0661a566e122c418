-- Integer to decimal string without Lua's %.14g rounding (timestamps in microseconds need 16 digits).
local function numStr(n)
  return string.format('%.0f', n)
end
