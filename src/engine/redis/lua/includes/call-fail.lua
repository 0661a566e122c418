-- Aborts the script with a catalogue error (src/errors.ts): redis/calls-scripts.ts reads
-- "HL:<code>[:<field>]" from the reply and rejects with a HoldlineError. Nothing was written yet:
-- every script checks all its rules before its first write.
local function fail(code, field)
  error({ err = 'HL:' .. code .. (field and (':' .. field) or '') })
end
