-- Decodes a message record (format in src/engine/redis/record.ts) into a table tag -> string.
local function recordDecode(record)
  local fields = {}
  local pos = 1
  local n = #record
  while pos <= n do
    local tag = string.sub(record, pos, pos)
    local len = struct.unpack('>I4', record, pos + 1)
    fields[tag] = string.sub(record, pos + 5, pos + 4 + len)
    pos = pos + 5 + len
  end
  return fields
end
