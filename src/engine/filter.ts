/**
 * Whether a message meets a filtered read's conditions (types.ts MessageFilter): the memory engine's
 * test, and the definition the Redis engine's indexes must agree with (read-filtered-8.lua).
 */
import type { MessageFilter, StoredMessage } from './types.js';

export function matchesFilter(m: StoredMessage, f: MessageFilter): boolean {
  if (f.states !== undefined && !f.states.includes(m.clientState ?? null)) return false;
  if (f.inReplyTo !== undefined && m.inReplyTo !== f.inReplyTo) return false;
  if (f.updatedSinceUs !== undefined || f.updatedUntilUs !== undefined) {
    const u = m.updatedAtUs;
    if (u === undefined) return false;
    if (f.updatedSinceUs !== undefined && u < f.updatedSinceUs) return false;
    if (f.updatedUntilUs !== undefined && u > f.updatedUntilUs) return false;
  }
  return true;
}
