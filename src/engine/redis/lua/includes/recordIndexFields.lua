-- The client_state (tag s) and in_reply_to (tag r) of a message record (format in
-- src/engine/redis/record.ts), reading only the field headers; nil when absent.
local function recordIndexFields(record)
  local s, r
  local pos, n = 1, #record
  while pos <= n do
    local tag = string.sub(record, pos, pos)
    local len = struct.unpack('>I4', record, pos + 1)
    if tag == 's' then
      s = string.sub(record, pos + 5, pos + 4 + len)
    elseif tag == 'r' then
      r = string.sub(record, pos + 5, pos + 4 + len)
    end
    pos = pos + 5 + len
  end
  return s, r
end
