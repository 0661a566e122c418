-- Redis's clock, so changes made through different Holdline nodes share one time source.
-- The time nowMs read last, in µs, is also the time of the events the call records (eventNowUs:
-- one TIME per call, not one more per event), +1 µs for each event after the first, so that the
-- events of one call keep, by `generated`, the order they were recorded in.
local nowUsText, nowUs, nowUsTaken = nil, nil, 0
local function nowMs()
  local t = rcall('TIME')
  -- TIME answers two decimal strings: the seconds, and the µs unpadded.
  nowUsText = t[1] .. string.sub('00000', #t[2]) .. t[2]
  nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
  nowUsTaken = 0
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The next event's time (µs since the epoch, text) from nowMs's; nil when nowMs was not called.
local function eventNowUs()
  if nowUs == nil then return nil end
  nowUsTaken = nowUsTaken + 1
  if nowUsTaken == 1 then return nowUsText end
  return string.format('%d', nowUs + nowUsTaken - 1)
end
