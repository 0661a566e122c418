-- Redis's clock, so changes made through different Holdline nodes share one time source.
-- The time nowMs read last, in µs, is also the time of the events the call records (eventNowUs:
-- one TIME per call, not one more per event), +1 µs for each event after the first, so that the
-- events of one call keep, by `generated`, the order they were recorded in.
-- TIME answers two decimal strings: the seconds, and the µs unpadded. The texts below are spelled
-- from them, when asked for, not from numbers (a number's text costs a printf).
local nowTime, nowUsTaken = nil, 0
local function nowMs()
  local t = rcall('TIME')
  nowTime = t
  nowUsTaken = 0
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- nowMs's value as text (decimal ms).
local function nowMsText()
  local us = nowTime[2]
  return nowTime[1] .. string.sub(string.sub('00000', #us) .. us, 1, 3)
end

-- The next event's time (µs since the epoch, text) from nowMs's; nil when nowMs was not called.
local function eventNowUs()
  if nowTime == nil then return nil end
  nowUsTaken = nowUsTaken + 1
  local s, us = nowTime[1], nowTime[2]
  if nowUsTaken == 1 then return s .. string.sub('00000', #us) .. us end
  return string.format('%d', tonumber(s) * 1000000 + tonumber(us) + nowUsTaken - 1)
end
