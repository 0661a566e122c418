-- A set of strings kept as a JSON array in one field of a known hash (keys.ts CallAppScriptKeys:
-- agenttags, tagagents, agentqueues), so a script reaches any agent's or tag's set through a key it
-- was given in KEYS. An empty set is no field (cjson would spell an empty table as an object).
local function setMembers(key, field)
  local raw = rcall('HGET', key, field)
  if not raw then return {} end
  return cjson.decode(raw)
end

local function setWrite(key, field, members)
  if #members == 0 then
    rcall('HDEL', key, field)
  else
    rcall('HSET', key, field, cjson.encode(members))
  end
end

-- Adds or removes one member; 1 when that changed the set, 0 when it already was so.
local function setChange(key, field, member, add)
  local members = setMembers(key, field)
  for i, m in ipairs(members) do
    if m == member then
      if add then return 0 end
      table.remove(members, i)
      setWrite(key, field, members)
      return 1
    end
  end
  if not add then return 0 end
  members[#members + 1] = member
  setWrite(key, field, members)
  return 1
end
