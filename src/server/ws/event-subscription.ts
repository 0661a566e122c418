/**
 * A socket following its application's event log live (protocol/websocket.md 12): the event-log
 * kind of feed (feed-hub.ts FeedKind, the third after partitions and call queues) and its join. The
 * gapless join is follower.ts's; what is the tail's own:
 *
 *   - a feed per application AND filter (the key carries the filter's canonical form), so sockets
 *     with the same conditions share one uWS topic; the hub's `matches` keeps non-matching events
 *     off the topic while the feed's position still moves over them (seqs stay contiguous, so the
 *     seq checks of FeedPosition and continuesExactly apply unchanged);
 *   - storage is read in pages from the resume point (EventLog.readSince), sending the matching
 *     events, until it is exhausted; then the join. `lastSeq` moves over every event read, sent or
 *     not;
 *   - the resume point is an event id (`since`): its seq comes from EventLog.get. When the log no
 *     longer holds it (retention), the tail starts with the oldest event still held and says so
 *     (`recovered: false`). When retention overtakes a tail that is still catching up (it reads
 *     slower than the log is trimmed), the events in between cannot be sent: the subscription ends
 *     with `events.unsubscribed` reason `events_lost` (the SDK subscribes again from its last event
 *     and is told `recovered: false`);
 *   - a lagging socket (section 7), or an interrupted feed, leaves the topic and catches up from
 *     storage again from its last seq.
 */
import { createHash } from 'node:crypto';
import type { TemplatedApp } from 'uWebSockets.js';
import type { EventFrame } from '../../codec/index.js';
import { beforeOldest, type TailFilter } from '../../domain/event-tail.js';
import type { EventFeeds } from '../../domain/events/feeds.js';
import type { LoggedEvent } from '../../engine/events.js';
import { eventLogFeed } from '../../engine/feeds.js';
import type { Logger } from '../../logger.js';
import type { Connection, SideSubscription } from './connection.js';
import { FeedHub, type FeedKind, type HubFeed } from './feed-hub.js';
import { Follower, READ_RETRY_MS } from './follower.js';
import { corked, isOverLimit, sendFrame, waitForDrain } from './send.js';

export interface EventTailRef {
  app: string;
  filter: TailFilter;
}

export type HubEventFeed = HubFeed<EventTailRef, LoggedEvent>;
export type EventTailHub = FeedHub<EventTailRef, LoggedEvent, 'event'>;

export interface EventTailEnv {
  log: EventFeeds;
  hub: EventTailHub;
  logger: Logger;
}

/** One tail per connection. */
export const EVENT_TAIL_KEY = 'events';

export function eventFrame(entry: LoggedEvent): EventFrame {
  return { type: 'event', seq: entry.seq, event: entry.event };
}

function tailKind(log: EventFeeds): FeedKind<EventTailRef, LoggedEvent, 'event'> {
  const source = eventLogFeed(log);
  return {
    source: {
      type: source.type,
      // A hash keeps the topic name short and free of the filter's characters.
      key: (ref) => `${source.key({ app: ref.app })}/${createHash('sha1').update(ref.filter.key).digest('hex').slice(0, 16)}`,
      subscribe: (ref, listener) => source.subscribe({ app: ref.app }, listener),
      base: (ref) => source.base({ app: ref.app }),
      idOf: (e) => source.idOf(e),
    },
    names: { hub: 'ws event hub', field: 'eventFeed' },
    topicPrefix: 'hl/e',
    frame: (_ref, entry) => eventFrame(entry),
    matches: (ref, entry) => ref.filter.matches(entry),
  };
}

export function eventTailHub(log: EventFeeds, app: TemplatedApp, logger: Logger): EventTailHub {
  return new FeedHub(tailKind(log), app, logger);
}

export class EventSubscription extends Follower<EventTailRef, LoggedEvent> implements SideSubscription {
  /** The `events.subscribed` reply is out. */
  replied = false;

  constructor(
    readonly env: EventTailEnv,
    conn: Connection,
    readonly tail: HubEventFeed,
    lastSeq: number,
  ) {
    super(conn, tail, lastSeq);
  }

  get topic(): string {
    return this.tail.topics[this.conn.format];
  }

  get lagging(): boolean {
    return this.state === 'lagging';
  }

  get lastLiveAt(): number {
    return this.state === 'live' ? this.tail.lastAt : 0;
  }

  interrupted(): void {
    catchUpAgain(this);
  }

  pause(): void {
    this.leaveLive();
  }

  resume(): void {
    if (this.state === 'lagging') catchUpAgain(this);
  }

  end(): boolean {
    return this.stop();
  }

  /** Writes the matching events of a run, moving lastSeq over all of them; false when the socket is gone. */
  sendRun(entries: readonly LoggedEvent[]): boolean {
    let written = true;
    corked(this.conn, () => {
      for (const entry of entries) {
        if (entry.seq <= this.lastSeq) continue;
        if (this.tail.ref.filter.matches(entry) && !sendFrame(this.conn, eventFrame(entry))) {
          written = false;
          return;
        }
        this.lastSeq = entry.seq;
        this.lastId = entry.event.message_id;
      }
    });
    return written;
  }

  protected sendPending(entries: LoggedEvent[]): boolean {
    return this.sendRun(entries);
  }
}

/** Where a new tail starts: after `since` when the log still holds it, else the oldest event held; or now. */
export async function tailStart(
  log: EventFeeds,
  app: string,
  since: string | undefined,
  now: { seq: number; id: string | null },
): Promise<{ after: number; afterId: string | null; recovered: boolean }> {
  if (since === undefined) return { after: now.seq, afterId: now.id, recovered: true };
  const found = await log.get(app, since.toLowerCase());
  if (found !== null) return { after: found.seq, afterId: found.event.message_id, recovered: true };
  return { after: await beforeOldest(log, app), afterId: null, recovered: false };
}

/** Pages read from storage per step of a catch-up. */
const PAGE = 500;

/**
 * Steps 2 and 3 (follower.ts): pages from storage after lastSeq, then the join, again until it
 * joins. Storage failures are retried; events reclaimed under it end the subscription.
 */
export async function catchUp(sub: EventSubscription, run: number): Promise<void> {
  const { env, conn } = sub;
  const { app } = sub.tail.ref;
  for (;;) {
    let page: LoggedEvent[] | null;
    try {
      page = await env.log.readSince(app, sub.lastSeq, PAGE);
    } catch (err) {
      if (!sub.isRun(run)) return;
      env.logger.warn({ err, app, connection: conn.id }, 'ws event tail: storage read failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
      if (!sub.isRun(run)) return;
      sub.startCapture();
      continue;
    }
    if (!sub.isRun(run)) return;
    if (page === null) {
      endTail(sub, 'events_lost');
      return;
    }
    if (page.length > 0) {
      // The position moves over every event read, sent or not (sendRun).
      if (!sub.sendRun(page) || !sub.isRun(run)) return;
      if (isOverLimit(conn) && !((await waitForDrain(conn)) && sub.isRun(run))) return;
      if (page.length === PAGE) continue;
    }
    const joined = await sub.tryJoin(run);
    if (joined === 'joined' || joined === 'stopped') return;
    if (sub.bufferBroken) sub.startCapture();
  }
}

/** Runs the catch-up; unexpected failures close the connection. */
export function follow(sub: EventSubscription, run: number): void {
  catchUp(sub, run).catch((err: unknown) => {
    sub.env.logger.error({ err, connection: sub.conn.id }, 'ws event tail: join failed');
    sub.conn.close(1011, 'internal');
  });
}

/** Leaves live delivery (if live) and catches up from storage from its last seq. */
export function catchUpAgain(sub: EventSubscription): void {
  if (sub.state === 'ended' || !sub.replied) return;
  sub.leaveLive();
  if (sub.ended) return;
  sub.state = 'recovering';
  sub.startCapture();
  follow(sub, sub.nextRun());
}

/** Ends the subscription: no frame of it is written after this returns. */
export function endSubscription(sub: EventSubscription): void {
  if (!sub.end()) return;
  if (sub.conn.otherSubscriptions.get(EVENT_TAIL_KEY) === sub) sub.conn.otherSubscriptions.delete(EVENT_TAIL_KEY);
  sub.env.hub.release(sub.tail);
}

/** The server ends the tail on its own (websocket.md 12.3). */
export function endTail(sub: EventSubscription, reason: 'events_lost'): void {
  if (sub.state === 'ended') return;
  endSubscription(sub);
  sendFrame(sub.conn, { type: 'events.unsubscribed', reason });
}
