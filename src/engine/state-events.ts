/**
 * The processing-state event (SPEC.md 3.5, 3.4): every change of a message's client_state or
 * client_json records `message.state`, in the same synchronous call (memory) or the same script
 * (Redis, update-9.lua) as the change. Its traits are declared in the one catalogue (events.ts
 * EVENT_TYPES): `client_state` and `previous_state` are the state after and before (absent when
 * unset); `fields` names what the change gave (`client_state`, `client_json`, comma-separated).
 */
import type { EventType } from './events.js';

export const MESSAGE_STATE_EVENT = 'message.state' satisfies EventType;
