-- A trait value's JSON text in its type, as events.ts traitValue converts it (nil: left out, as
-- buildEvent leaves out null, absent and non-finite values). Shared by the scripts that write
-- events' traits in Lua (change-event.lua, event-record-direct.lua).
local function strText(v)
  if v == nil or v == cjson.null then return nil end
  -- cjson.encode is C: cheaper than even looking for a character that needs escaping in Lua.
  return cjson.encode(tostring(v))
end

-- A number as traitValue reads one (a boolean is 1 or 0), nil when not a finite number.
local function finiteOf(v)
  if v == nil or v == cjson.null then return nil end
  local n
  if type(v) == 'boolean' then n = v and 1 or 0 else n = tonumber(v) end
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end

local function intText(v)
  local n = finiteOf(v)
  if n == nil then return nil end
  n = n >= 0 and math.floor(n) or math.ceil(n)
  return string.format('%d', n)
end

local function floatText(v)
  local n = finiteOf(v)
  if n == nil then return nil end
  -- 17 digits: parses back to the same double JavaScript computed (the default %.14g may not).
  return string.format('%.17g', n)
end

-- By the trait's type; a string otherwise (no Lua-recorded type declares a datetime trait).
local function traitText(ttype, v)
  if ttype == 'integer' then return intText(v) end
  if ttype == 'float' then return floatText(v) end
  return strText(v)
end
