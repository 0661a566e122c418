-- The queue's routing settings (KEYS[12], field 's'), or nil for the defaults (strategy manual).
local function routeSettings()
  local raw = rcall('HGET', KEYS[12], 's')
  if raw then return cjson.decode(raw) end
  return nil
end
