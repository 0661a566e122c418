-- The expiresAtMs of a message record (field e; format in src/engine/redis/record.ts), reading
-- only the field headers: the authority on a message's expiry (keys.ts, the expiry index).
local function recordExpiry(record)
  local pos, n = 1, #record
  while pos <= n do
    local len = struct.unpack('>I4', record, pos + 1)
    if string.sub(record, pos, pos) == 'e' then return tonumber(string.sub(record, pos + 5, pos + 4 + len)) end
    pos = pos + 5 + len
  end
  return nil
end
