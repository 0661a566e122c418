/**
 * What the live event tail needs from the event log (src/server/ws: hub, catch-up, resume point):
 * its live events, the events retained after a seq, the base, one event by id and a walk of the
 * time index. Read-only, as MessageFeeds and CallFeeds are: recording is each change's own, and
 * transports neither record nor relay (`flush`).
 */
import type { EventLog } from '../../engine/events.js';

export type EventFeeds = Pick<EventLog, 'subscribe' | 'readSince' | 'base' | 'get' | 'scan'>;
