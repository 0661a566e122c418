/**
 * The feeds the stores offer (feed.ts), each as a FeedSource: message partitions (Engine) and call
 * queues (CallStore), and each application's event log (Engine.events). A source names its entry events, keys its feeds,
 * subscribes to one, and reads its base: where the live side continues from (a partition's newest
 * stored message; a call queue's snapshot seq). What a follower reads between a resume point and the
 * base stays each store's own read (Engine.read pages by id or time; CallStore.changesSince, or a
 * snapshot, when the changes are no longer kept).
 */
import type { CallQueueChange, CallStore } from './call-types.js';
import type { EventLog, LoggedEvent } from './events.js';
import type { FeedSource } from './feed.js';
import type { Engine, PartitionRef, StoredMessage } from './types.js';

/** Application and queue names are [A-Za-z0-9_-], so `/` separates them unambiguously. */
export function partitionKey(ref: PartitionRef): string {
  return `${ref.app}/${ref.queue}/${ref.partition}`;
}

/** Needs only the engine's live events and reads (the server passes its read-only MessageFeeds). */
export function partitionFeed(engine: Pick<Engine, 'subscribe' | 'read'>): FeedSource<PartitionRef, 'message', StoredMessage> {
  return {
    type: 'message',
    key: partitionKey,
    subscribe: (ref, listener) => engine.subscribe(ref, listener),
    base: async (ref) => {
      const [newest] = await engine.read(ref, { limit: 1, order: 'descending' });
      return newest === undefined ? { seq: 0, id: null } : { seq: newest.seq, id: newest.id };
    },
    idOf: (m) => m.id,
  };
}

export interface CallQueueRef {
  app: string;
  queueId: string;
}

export function callQueueFeed(store: Pick<CallStore, 'subscribeQueue' | 'snapshot'>): FeedSource<CallQueueRef, 'change', CallQueueChange> {
  return {
    type: 'change',
    key: (ref) => `${ref.app}/${ref.queueId}`,
    subscribe: (ref, listener) => store.subscribeQueue(ref.app, ref.queueId, listener),
    // The snapshot's seq: changes are numbered without holes, so no identity is needed.
    base: async (ref) => ({ seq: (await store.snapshot(ref.app, ref.queueId)).seq, id: null }),
    idOf: () => null,
  };
}

export interface EventLogRef {
  app: string;
}

/**
 * An application's event log as a feed (the third user of the primitive): entries are logged events
 * in seq order (+1 per event, no holes except at the front, where retention reclaims); the base is
 * the newest event; the identity is the event's message_id. `readSince` is the catch-up read between
 * a resume point and the base (null: the resume point is older than what retention kept).
 */
export interface EventLogFeed extends FeedSource<EventLogRef, 'event', LoggedEvent> {
  readSince(ref: EventLogRef, afterSeq: number, limit: number): Promise<LoggedEvent[] | null>;
}

export function eventLogFeed(log: Pick<EventLog, 'subscribe' | 'base' | 'readSince'>): EventLogFeed {
  return {
    type: 'event',
    key: (ref) => ref.app,
    subscribe: (ref, listener) => log.subscribe(ref.app, listener),
    base: (ref) => log.base(ref.app),
    idOf: (e) => e.event.message_id,
    readSince: (ref, afterSeq, limit) => log.readSince(ref.app, afterSeq, limit),
  };
}
