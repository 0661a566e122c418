-- JavaScript truthiness of a value decoded by cjson (0, '' and null are false there).
local function jsTrue(v)
  return v ~= nil and v ~= false and v ~= cjson.null and v ~= 0 and v ~= ''
end

-- The fields a change names as changed, as a set.
local function changedSet(change)
  local has = {}
  for _, f in ipairs(type(change.changed) == 'table' and change.changed or {}) do has[f] = true end
  return has
end

-- The event type a call-queue change records and the queue_id its event is indexed by ('' none):
-- the choice events.ts changeEventValues makes (change-event.lua builds the traits for it).
local function changeType(change)
  local kind = change.kind
  local queueId
  if kind == 'queue_updated' or kind == 'queue_deleted' then
    queueId = change.queue.uuid
  elseif string.sub(kind, 1, 7) == 'member_' then
    queueId = change.member.queue_id
  else
    queueId = change.caller.queue_id
  end
  if queueId == nil or queueId == cjson.null then queueId = '' end
  local etype
  if kind == 'queue_updated' then etype = 'queue.update'
  elseif kind == 'queue_deleted' then etype = 'queue.delete'
  elseif kind == 'member_added' then etype = 'queue.member.add'
  elseif kind == 'member_removed' then etype = 'queue.member.remove'
  elseif kind == 'caller_joined' then etype = 'queue.caller.join'
  elseif kind == 'caller_left' then etype = 'queue.caller.leave'
  elseif kind == 'member_updated' then
    local has = changedSet(change)
    etype = has.paused and (jsTrue(change.member.paused) and 'queue.member.pause' or 'queue.member.unpause')
      or has.status and 'queue.member.status' or 'queue.member.update'
  else
    local has = changedSet(change)
    etype = has.callback and 'queue.caller.callback' or has.status and 'queue.caller.status' or has.priority and 'queue.caller.priority'
      or 'queue.caller.assign'
  end
  return etype, tostring(queueId)
end
