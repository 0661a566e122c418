/**
 * What webhook delivery reads of an application's event log (the events engine's feed: one
 * numbered feed per application, issue 13): events after a seq, in order; where the log ends;
 * and a wake-up when an event is appended.
 */
export interface LoggedEvent {
  /** Position in the application's event log (1, 2, ...). */
  seq: number;
  /** The event's message_id. */
  id: string;
  event_type: string;
  /** The event as Panko shows it (message_id, event_type, generated, traits, raw), JSON. */
  json: string;
}

export interface EventLogRead {
  events: LoggedEvent[];
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
