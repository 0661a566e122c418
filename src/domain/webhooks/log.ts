/**
 * What webhook delivery reads of an application's event log (engine/events.ts EventLog: one
 * numbered feed per application, issue 13): events after a seq, in order; where the log ends;
 * and a wake-up when an event is appended. eventLogReader() is it over the engine's log.
 */
import type { EventLog } from '../../engine/events.js';
import { beforeOldest } from '../event-tail.js';

export interface DeliverableEvent {
  /** Position in the application's event log (1, 2, ...). */
  seq: number;
  /** The event's message_id. */
  id: string;
  event_type: string;
  /** The event as Panko shows it (message_id, event_type, generated, traits, raw), JSON. */
  json: string;
}

export interface EventLogRead {
  events: DeliverableEvent[];
  /**
   * The seq of the oldest event the log still holds (retention reclaimed those before it); when it
   * is above the requested point + 1, events were lost to that reader.
   */
  oldest: number;
}

export interface EventLogReader {
  /** Events with seq > afterSeq, oldest first, at most `limit`. */
  readAfter(app: string, afterSeq: number, limit: number): Promise<EventLogRead>;
  /** The seq of the newest event (0: none yet). */
  head(app: string): Promise<number>;
  /** Calls `wake` after events are appended to the application's log (at least once per append, perhaps later). */
  watch(app: string, wake: () => void): Promise<() => Promise<void>>;
}

export function eventLogReader(log: EventLog): EventLogReader {
  return {
    async readAfter(app, afterSeq, limit) {
      const events = await log.readSince(app, afterSeq, limit);
      if (events === null) return { events: [], oldest: (await beforeOldest(log, app)) + 1 };
      return {
        events: events.map((e) => ({ seq: e.seq, id: e.event.message_id, event_type: e.event.event_type, json: JSON.stringify(e.event) })),
        oldest: afterSeq + 1,
      };
    },
    head: async (app) => (await log.base(app)).seq,
    watch: (app, wake) => log.subscribe(app, () => wake()),
  };
}
