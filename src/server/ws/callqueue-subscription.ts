/**
 * A socket following one call queue (protocol/websocket.md 5): the call-queue kind of feed
 * (feed-hub.ts FeedKind) and its join. The gapless join itself is follower.ts's, shared with
 * message partitions; what is the call queue's own:
 *
 *   - storage is read once: the changes after `since_seq` (changesSince), else a snapshot (the
 *     feed's base), and sent; `lastSeq` is the seq the socket was given;
 *   - seq has no holes, so the live buffer must continue lastSeq exactly up to the topic's last seq;
 *     anything else is a lost change, and the join starts again from a fresh snapshot;
 *   - a lagging socket (section 7) leaves the topic and, once drained, rejoins from a fresh snapshot;
 *     so does every follower when the feed is interrupted (the store's resync, a gap);
 *   - a subscription ends with `callqueue.unsubscribed`: on request, when the queue is deleted, or
 *     for an agent, when its agent stops being a member (access_revoked).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { CallQueueUpdateFrame, SubscriptionEndReason } from '../../codec/index.js';
import type { CallFeeds } from '../../domain/calls/feeds.js';
import type { CallQueueChange, CallQueueSnapshot } from '../../engine/call-types.js';
import { callQueueFeed, type CallQueueRef } from '../../engine/feeds.js';
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Connection, SideSubscription } from './connection.js';
import { FeedHub, type FeedKind, type HubFeed } from './feed-hub.js';
import { Follower, READ_RETRY_MS } from './follower.js';
import { corked, sendFrame } from './send.js';

export type HubCallQueue = HubFeed<CallQueueRef, CallQueueChange>;
export type CallQueueHub = FeedHub<CallQueueRef, CallQueueChange, 'change'>;

export type CallQueueSubState = 'recovering' | 'live' | 'lagging' | 'ended';

export interface CallQueueEnv {
  store: CallFeeds;
  hub: CallQueueHub;
  logger: Logger;
  /** A socket went live on the feed (its wallboard follows: wallboard-push.ts). */
  onLive?: (feed: HubCallQueue) => void;
}

/** What the first storage read gave: the changes after since_seq, or a snapshot. */
export type JoinStart = { kind: 'changes'; since: number; changes: CallQueueChange[] } | { kind: 'snapshot'; snapshot: CallQueueSnapshot };

export function subscriptionKey(queueId: string): string {
  return `callqueue/${queueId}`;
}

export function updateFrame(change: CallQueueChange): CallQueueUpdateFrame {
  return { type: 'callqueue.update', ...change };
}

/** Call queues as a feed: the store's source of them, `callqueue.update` frames, endings on deletion and removal. */
function callQueueKind(store: CallFeeds, onPublished?: (feed: HubCallQueue) => void): FeedKind<CallQueueRef, CallQueueChange, 'change'> {
  return {
    source: callQueueFeed(store),
    names: { hub: 'ws call-queue hub', field: 'callQueue' },
    topicPrefix: 'hl/q',
    frame: (_ref, change) => updateFrame(change),
    // Followers end on the changes that end their access, once the change is on the topic.
    published(feed, change) {
      if (change.kind !== 'queue_deleted') onPublished?.(feed);
      if (change.kind !== 'queue_deleted' && change.kind !== 'member_removed') return;
      for (const sub of [...feed.followers]) {
        if (!(sub instanceof CallQueueSubscription)) continue;
        if (change.kind === 'queue_deleted') endFollowing(sub, 'queue_deleted');
        else if (sub.agentUuid === change.member.uuid) endFollowing(sub, 'access_revoked');
      }
    },
  };
}

/** The node's hub of call queues. */
export function callQueueHub(store: CallFeeds, app: TemplatedApp, logger: Logger, onPublished?: (feed: HubCallQueue) => void): CallQueueHub {
  return new FeedHub(callQueueKind(store, onPublished), app, logger);
}

export class CallQueueSubscription extends Follower<CallQueueRef, CallQueueChange> implements SideSubscription {
  /** The `callqueue.subscribed` reply is out: later endings are announced on their own. */
  replied = false;
  /** Why it ended before its reply went out (the subscribe then fails). */
  endedBy: SubscriptionEndReason | null = null;

  constructor(
    readonly env: CallQueueEnv,
    conn: Connection,
    readonly queue: HubCallQueue,
    /** The agent behind an agent token; null for an application key. */
    readonly agentUuid: string | null,
  ) {
    // -1: before the first seq written (a snapshot's or an update's).
    super(conn, queue, -1);
  }

  get queueId(): string {
    return this.queue.ref.queueId;
  }

  get key(): string {
    return subscriptionKey(this.queueId);
  }

  get topic(): string {
    return this.queue.topics[this.conn.format];
  }

  get lagging(): boolean {
    return this.state === 'lagging';
  }

  get lastLiveAt(): number {
    return this.state === 'live' ? this.queue.lastAt : 0;
  }

  interrupted(): void {
    rejoin(this);
  }

  protected sendPending(changes: CallQueueChange[]): boolean {
    let written = true;
    corked(this.conn, () => {
      for (const change of changes) {
        written = this.sendUpdate(change);
        if (!written) return;
      }
    });
    return written;
  }

  pause(): void {
    this.leaveLive();
  }

  resume(): void {
    if (this.state !== 'lagging') return;
    rejoin(this);
  }

  /** Ends following; false when it had ended already. */
  end(): boolean {
    return this.stop();
  }

  /** Sends one update frame; false when the connection is gone. */
  sendUpdate(change: CallQueueChange): boolean {
    if (!sendFrame(this.conn, updateFrame(change))) return false;
    this.lastSeq = change.seq;
    return true;
  }

  sendSnapshot(snapshot: CallQueueSnapshot): boolean {
    const { queue, seq, callers, members, stats, estimates } = snapshot;
    const frame = { type: 'callqueue.snapshot' as const, queue_id: this.queueId, seq, queue, callers, members, stats };
    if (!sendFrame(this.conn, estimates === undefined ? frame : { ...frame, estimates })) return false;
    this.lastSeq = seq;
    return true;
  }

  /** Writes what the first read gave (after the reply, or on a rejoin). */
  sendStart(start: JoinStart): void {
    corked(this.conn, () => {
      if (start.kind === 'snapshot') {
        this.sendSnapshot(start.snapshot);
        return;
      }
      this.lastSeq = start.since;
      for (const change of start.changes) if (!this.sendUpdate(change)) return;
    });
  }
}

/** Step 2 for a first subscribe: since_seq when storage still has what follows it, else a snapshot. */
export async function readStart(store: CallFeeds, sub: CallQueueSubscription, sinceSeq: number | undefined): Promise<JoinStart> {
  const { app, queueId } = sub.queue.ref;
  if (sinceSeq !== undefined) {
    const changes = await store.changesSince(app, queueId, sinceSeq);
    if (changes !== null) return { kind: 'changes', since: sinceSeq, changes };
  }
  return { kind: 'snapshot', snapshot: await store.snapshot(app, queueId) };
}

/**
 * Step 3, run after the start was sent: the join (follower.ts). When the buffered continuation is
 * not exact, sends a fresh snapshot and tries again. Storage failures are retried; a deleted queue
 * ends the subscription.
 */
export async function goLive(sub: CallQueueSubscription, run: number): Promise<void> {
  for (;;) {
    const joined = await sub.tryJoin(run);
    if (joined === 'joined') sub.env.onLive?.(sub.queue);
    if (joined === 'joined' || joined === 'stopped') return;
    if (!(await resnapshot(sub, run))) return;
  }
}

/** Capture again, read a snapshot and send it; false when the subscription stopped meanwhile. */
async function resnapshot(sub: CallQueueSubscription, run: number): Promise<boolean> {
  const { app, queueId } = sub.queue.ref;
  for (;;) {
    sub.startCapture();
    let snapshot: CallQueueSnapshot;
    try {
      snapshot = await sub.env.store.snapshot(app, queueId);
    } catch (err) {
      if (!sub.isRun(run)) return false;
      if (isHoldlineError(err) && err.code === 'call_queue_not_found') {
        endFollowing(sub, 'queue_deleted');
        return false;
      }
      sub.env.logger.warn({ err, callQueue: sub.queue.key, connection: sub.conn.id }, 'ws call queue: snapshot failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
      continue;
    }
    if (!sub.isRun(run)) return false;
    return sub.sendSnapshot(snapshot);
  }
}

/** Leaves live delivery (if live) and joins again from a fresh snapshot (lagging drained, feed resync). */
export function rejoin(sub: CallQueueSubscription): void {
  if (sub.state === 'ended' || !sub.replied) return;
  sub.leaveLive();
  // Leaving flushed the topic, which may have ended the subscription (the queue deleted).
  if (sub.ended) return;
  sub.state = 'recovering';
  const run = sub.nextRun();
  follow(sub, run, async () => resnapshot(sub, run));
}

/** Runs `first` (which sends the start) then goLive; unexpected failures close the connection. */
export function follow(sub: CallQueueSubscription, run: number, first: () => Promise<boolean>): void {
  (async () => {
    if (!(await first())) return;
    await goLive(sub, run);
  })().catch((err: unknown) => {
    sub.env.logger.error({ err, callQueue: sub.queue.key, connection: sub.conn.id }, 'ws call queue: join failed');
    sub.conn.close(1011, 'internal');
  });
}

/** Ends the subscription: no frame of it is written after this returns. */
export function endSubscription(sub: CallQueueSubscription): void {
  if (!sub.end()) return;
  if (sub.conn.otherSubscriptions.get(sub.key) === sub) sub.conn.otherSubscriptions.delete(sub.key);
  sub.env.hub.release(sub.queue);
}

/**
 * The server ends a subscription on its own (websocket.md 5.4): announced with
 * `callqueue.unsubscribed` once the reply went out; before that, the subscribe fails instead.
 */
export function endFollowing(sub: CallQueueSubscription, reason: SubscriptionEndReason): void {
  if (sub.state === 'ended') return;
  endSubscription(sub);
  if (sub.replied) sendFrame(sub.conn, { type: 'callqueue.unsubscribed', queue_id: sub.queueId, reason });
  else sub.endedBy = reason;
}

/** The error a subscribe fails with when its subscription ended before the reply. */
export function endedError(reason: SubscriptionEndReason): HoldlineError {
  return new HoldlineError(reason === 'queue_deleted' ? 'call_queue_not_found' : 'forbidden');
}
