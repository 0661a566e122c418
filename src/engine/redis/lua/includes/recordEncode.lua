-- Encodes a message record (format in src/engine/redis/record.ts): each present field as
-- <tag byte><uint32 big-endian length><bytes>, in the fixed tag order below so equal records are
-- equal strings. `fields` maps tag -> string; absent tags are skipped. The optional fields' tags
-- are filled in from the one field table (src/message-fields.ts) when the script is loaded (scripts.ts).
local RECORD_TAGS = { 'i', 'l', 'e', 't', 'b', --[[@message-field-tags]] }
local function recordEncode(fields)
  local parts = {}
  for _, tag in ipairs(RECORD_TAGS) do
    local v = fields[tag]
    if v then parts[#parts + 1] = tag .. struct.pack('>I4', #v) .. v end
  end
  return table.concat(parts)
end
