-- The application's key hashes still valid at nowMs (epoch ms), after removing the expired ones
-- from keys (KEYS hash -> "app" or "app expiresMs"), appkeys (SET) and keyinfo (HASH).
local function appKeyPrune(keysKey, appKeysKey, infoKey, nowMs)
  local live = {}
  for _, hash in ipairs(redis.call('SMEMBERS', appKeysKey)) do
    local owner = redis.call('HGET', keysKey, hash)
    local expires = owner and tonumber(string.match(owner, ' (%d+)$'))
    if owner == false or (expires ~= nil and expires <= nowMs) then
      redis.call('HDEL', keysKey, hash)
      redis.call('SREM', appKeysKey, hash)
      redis.call('HDEL', infoKey, hash)
    else
      live[#live + 1] = hash
    end
  end
  return live
end

-- The hash among `hashes` whose key id (first 16 hex characters) is keyId; nil if none.
local function appKeyFind(hashes, keyId)
  for _, hash in ipairs(hashes) do
    if string.sub(hash, 1, 16) == keyId then return hash end
  end
  return nil
end
