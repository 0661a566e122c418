-- A tag reference is its id in decimal or its name (names are never all digits); the id or nil.
local function resolveTag(ref)
  if string.match(ref, '^%d+$') then
    if rcall('HEXISTS', KEYS[2], ref) == 1 then return ref end
    return nil
  end
  return rcall('HGET', KEYS[3], ref) or nil
end
