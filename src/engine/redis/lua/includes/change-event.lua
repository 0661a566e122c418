--- @include "event-record"
--- @include "change-type"
--- @include "trait-text"
-- The event a call-queue change records, written by the script that makes the change, already in
-- the log's shape: the relay (src/engine/redis/events.ts) then moves it without decoding anything.
-- The mirror of events.ts changeEventValues + buildEvent (trait order: the catalogue's, EVENT_TYPES;
-- values null or absent are left out; types converted as traitValue does), checked against it by
-- test/integration/events-model.test.ts and events-recording.test.ts on every change kind.

-- ',{"name":…,"type":…,"value":…}', or '' for an absent value.
local function piece(name, ttype, text)
  if text == nil then return '' end
  return ',{"name":"' .. name .. '","type":"' .. ttype .. '","value":' .. text .. '}'
end

-- Appends one trait's JSON to `out` ({"name":…,"type":…,"value":…}, the order Trait has), if present.
local function pushTrait(out, name, ttype, v)
  local text = traitText(ttype, v)
  if text ~= nil then out[#out + 1] = '{"name":"' .. name .. '","type":"' .. ttype .. '","value":' .. text .. '}' end
end

-- A caller change's first six traits in one format (the common case: every one present).
local CALLER_HEAD = '{"name":"queue_id","type":"string","value":%s},{"name":"caller_id","type":"string","value":%s},' ..
  '{"name":"name","type":"string","value":%s},{"name":"number","type":"string","value":%s},' ..
  '{"name":"priority","type":"integer","value":%s},{"name":"status","type":"string","value":%s}'

local function callerHead(c)
  local q, id, name, number, priority, status = strText(c.queue_id), strText(c.uuid), strText(c.name), strText(c.number), intText(c.priority), strText(c.status)
  if q == nil or id == nil or name == nil or number == nil or priority == nil or status == nil then return nil end
  return string.format(CALLER_HEAD, q, id, name, number, priority, status)
end

local function joinChanged(changed)
  if type(changed) ~= 'table' then return '' end
  return table.concat(changed, ',')
end

-- { event type, traits JSON without project_id (comma-separated objects), queue_id }
local function changeEvent(change)
  local t = {}
  local kind = change.kind
  if kind == 'queue_updated' or kind == 'queue_deleted' then
    local q = change.queue
    pushTrait(t, 'queue_id', 'string', q.uuid)
    pushTrait(t, 'name', 'string', q.name)
    if kind == 'queue_deleted' then return 'queue.delete', table.concat(t, ','), q.uuid end
    pushTrait(t, 'disabled', 'integer', q.disabled)
    pushTrait(t, 'service_level_seconds', 'integer', q.service_level_seconds)
    pushTrait(t, 'user_id', 'string', q.user_id)
    pushTrait(t, 'owner_project_id', 'string', q.project_id)
    pushTrait(t, 'changed', 'string', joinChanged(change.changed))
    return 'queue.update', table.concat(t, ','), q.uuid
  end
  if kind == 'member_added' or kind == 'member_removed' or kind == 'member_updated' then
    local m = change.member
    pushTrait(t, 'queue_id', 'string', m.queue_id)
    pushTrait(t, 'agent_id', 'string', m.uuid)
    pushTrait(t, 'number', 'string', m.number)
    pushTrait(t, 'status', 'string', m.status)
    pushTrait(t, 'paused', 'integer', m.paused)
    pushTrait(t, 'pause_reason', 'string', m.pause_reason)
    local etype = changeType(change)
    if etype == 'queue.member.update' then pushTrait(t, 'changed', 'string', joinChanged(change.changed)) end
    return etype, table.concat(t, ','), m.queue_id
  end
  -- caller_joined, caller_updated, caller_left
  local c = change.caller
  local line = change.line
  if line == cjson.null then line = nil end
  -- The same traits as below, written in fewer steps when the first six are all present.
  local head = callerHead(c)
  if head ~= nil and kind == 'caller_joined' then
    return 'queue.caller.join', head .. piece('position', 'integer', intText(line and line.to)), c.queue_id
  end
  if head ~= nil and kind == 'caller_left' then
    return 'queue.caller.leave', head .. piece('reason', 'string', strText(change.reason)) ..
      piece('wait', 'float', floatText(change.wait_ms ~= nil and change.wait_ms ~= cjson.null and change.wait_ms / 1000 or nil)) ..
      piece('estimated_wait', 'float', floatText(c.estimated_wait)) .. piece('position', 'integer', intText(line and line.from)) ..
      piece('agent_id', 'string', strText(c.member_uuid)), c.queue_id
  end
  pushTrait(t, 'queue_id', 'string', c.queue_id)
  pushTrait(t, 'caller_id', 'string', c.uuid)
  pushTrait(t, 'name', 'string', c.name)
  pushTrait(t, 'number', 'string', c.number)
  pushTrait(t, 'priority', 'integer', c.priority)
  pushTrait(t, 'status', 'string', c.status)
  if kind == 'caller_joined' then
    pushTrait(t, 'position', 'integer', line and line.to)
    return 'queue.caller.join', table.concat(t, ','), c.queue_id
  end
  if kind == 'caller_left' then
    pushTrait(t, 'reason', 'string', change.reason)
    pushTrait(t, 'wait', 'float', change.wait_ms ~= nil and change.wait_ms ~= cjson.null and change.wait_ms / 1000 or nil)
    -- The estimate given at its join (stored with the caller by call-caller-join), routing.md section 9.
    pushTrait(t, 'estimated_wait', 'float', c.estimated_wait)
    pushTrait(t, 'position', 'integer', line and line.from)
    pushTrait(t, 'agent_id', 'string', c.member_uuid)
    return 'queue.caller.leave', table.concat(t, ','), c.queue_id
  end
  local etype = changeType(change)
  pushTrait(t, 'position', 'integer', c.position)
  if etype == 'queue.caller.callback' then
    local cb = c.callback
    pushTrait(t, 'callback_number', 'string', type(cb) == 'table' and cb.number or nil)
    return etype, table.concat(t, ','), c.queue_id
  end
  pushTrait(t, 'agent_id', 'string', c.member_uuid)
  pushTrait(t, 'changed', 'string', joinChanged(change.changed))
  return etype, table.concat(t, ','), c.queue_id
end

-- Records a call-queue change's event into the queue slot's outbox (KEYS[9]), atomically with it.
-- us: the event's time (µs text), nil: Redis's clock now.
local function recordChange(outbox, change, us, json)
  local etype, traits, queueId = changeEvent(change)
  return recordTraits(outbox, etype, traits, queueId, us)
end
