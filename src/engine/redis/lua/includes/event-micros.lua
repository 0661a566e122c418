-- The time of an event recorded now, as text: µs since the epoch on Redis's clock. TIME answers two
-- decimal strings, the seconds and the µs unpadded; the text is spelled from them (a number's text
-- would cost a printf).
local function eventMicros()
  local t = redis.call('TIME')
  return t[1] .. string.sub('00000', #t[2]) .. t[2]
end
