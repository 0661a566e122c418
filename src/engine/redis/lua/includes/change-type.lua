-- JavaScript truthiness of a value decoded by cjson (0, '' and null are false there).
local function jsTrue(v)
  return v ~= nil and v ~= false and v ~= cjson.null and v ~= 0 and v ~= ''
end

-- The event type a call-queue change records and the queue_id its event is indexed by ('' none):
-- the choice events.ts changeEventValues makes (change-event.lua builds the traits for it).
local function changeType(change)
  local kind = change.kind
  local queueId
  local etype
  if kind == 'queue_updated' or kind == 'queue_deleted' then
    queueId = change.queue.uuid
    etype = kind == 'queue_updated' and 'queue.update' or 'queue.delete'
  elseif kind == 'member_added' or kind == 'member_removed' or kind == 'member_updated' then
    local m = change.member
    queueId = m.queue_id
    if kind == 'member_added' then
      etype = 'queue.member.add'
    elseif kind == 'member_removed' then
      etype = 'queue.member.remove'
    else
      local has = {}
      for _, f in ipairs(type(change.changed) == 'table' and change.changed or {}) do has[f] = true end
      if has.paused then
        etype = jsTrue(m.paused) and 'queue.member.pause' or 'queue.member.unpause'
      elseif has.status then
        etype = 'queue.member.status'
      else
        etype = 'queue.member.update'
      end
    end
  else
    queueId = change.caller.queue_id
    if kind == 'caller_joined' then
      etype = 'queue.caller.join'
    elseif kind == 'caller_left' then
      etype = 'queue.caller.leave'
    else
      local has = {}
      for _, f in ipairs(type(change.changed) == 'table' and change.changed or {}) do has[f] = true end
      etype = has.callback and 'queue.caller.callback' or has.status and 'queue.caller.status' or has.priority and 'queue.caller.priority'
        or 'queue.caller.assign'
    end
  end
  if queueId == nil or queueId == cjson.null then queueId = '' end
  return etype, tostring(queueId)
end
