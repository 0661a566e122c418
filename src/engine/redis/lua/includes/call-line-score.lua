-- Waiting-line order: priority desc, then join order (lineScore in memory/calls-queue.ts).
-- Priorities are within +-1e6 and join numbers below 2^32, so the score stays below 2^53 and is
-- exact; it is formatted with 17 digits because Lua's default keeps 14 and would merge neighbours.
local function lineScore(priority, joinSeq)
  return string.format('%.17g', -priority * 4294967296 + joinSeq)
end
