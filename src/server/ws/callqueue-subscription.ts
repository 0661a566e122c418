/**
 * One socket following one call queue (protocol/websocket.md 5), and the gapless join that brings
 * it live (STYLE.md example 6, the same steps as subscription.ts):
 *
 *   1. the hub's store subscription is active and this socket is registered as recovering on the
 *      queue: every change put on the topic from now on is captured into its buffer;
 *   2. storage is read: the changes after `since_seq` (changesSince), else a snapshot; they are
 *      sent, and `lastSeq` is the last seq the socket was given;
 *   3. once the topic has reached `lastSeq` (a change in the snapshot may be announced to this node
 *      later), in ONE synchronous step: the buffered changes with seq > lastSeq are sent, the socket
 *      joins the queue's uWS topic and stops recovering. The buffer must then continue lastSeq
 *      exactly up to the topic's last seq (seq has no gaps); anything else is a lost change, and
 *      the join starts again from a fresh snapshot.
 *
 * A lagging socket (section 7) leaves the topic and, once drained, rejoins the same way from a
 * fresh snapshot; so does every follower when the store's feed says it may have lost changes.
 * A subscription ends with `callqueue.unsubscribed`: on request, when the queue is deleted, or for
 * an agent, when its agent stops being a member (access_revoked).
 */
import type { SubscriptionEndReason } from '../../codec/index.js';
import type { CallQueueChange, CallQueueSnapshot, CallStore } from '../../engine/call-types.js';
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CallQueueFollower, CallQueueHub, CallQueueHubEvents, HubCallQueue } from './callqueue-hub.js';
import { updateFrame } from './callqueue-hub.js';
import type { Connection, SideSubscription } from './connection.js';
import { corked, sendFrame } from './send.js';

/** How long a join waits for the live feed to announce what the snapshot already holds. */
const ANNOUNCE_WAIT_MS = 2000;
/** How long a join waits before retrying a storage read that failed (engine unavailable). */
const READ_RETRY_MS = 1000;

export type CallQueueSubState = 'recovering' | 'live' | 'lagging' | 'ended';

export interface CallQueueEnv {
  store: CallStore;
  hub: CallQueueHub;
  logger: Logger;
}

/** What the first storage read gave: the changes after since_seq, or a snapshot. */
export type JoinStart = { kind: 'changes'; since: number; changes: CallQueueChange[] } | { kind: 'snapshot'; snapshot: CallQueueSnapshot };

export function subscriptionKey(queueId: string): string {
  return `callqueue/${queueId}`;
}

/** Every socket following a hub queue, whatever its state (for revocations and resyncs). */
const followersOf = new WeakMap<HubCallQueue, Set<CallQueueSubscription>>();

function followers(queue: HubCallQueue): Set<CallQueueSubscription> {
  let set = followersOf.get(queue);
  if (set === undefined) followersOf.set(queue, (set = new Set()));
  return set;
}

/** How followers react to what the hub sees (wired into the hub by handlers/callqueues.ts). */
export const FOLLOWER_EVENTS: CallQueueHubEvents = {
  interrupted(queue) {
    for (const sub of [...followers(queue)]) rejoin(sub);
  },
  published(queue, change) {
    if (change.kind === 'queue_deleted') {
      for (const sub of [...followers(queue)]) endFollowing(sub, 'queue_deleted');
    } else if (change.kind === 'member_removed') {
      for (const sub of [...followers(queue)]) if (sub.agentUuid === change.member.uuid) endFollowing(sub, 'access_revoked');
    }
  },
};

export class CallQueueSubscription implements CallQueueFollower, SideSubscription {
  state: CallQueueSubState = 'recovering';
  /** The last seq written to the socket (a snapshot's or an update's); -1 before the first. */
  lastSeq = -1;
  /** The `callqueue.subscribed` reply is out: later endings are announced on their own. */
  replied = false;
  /** Why it ended before its reply went out (the subscribe then fails). */
  endedBy: SubscriptionEndReason | null = null;
  /** Bumped whenever the running join must stop (a new one started, or the subscription ended). */
  private run = 0;
  private buffer: CallQueueChange[] = [];
  private broken = false;

  constructor(
    readonly env: CallQueueEnv,
    readonly conn: Connection,
    readonly queue: HubCallQueue,
    /** The agent behind an agent token; null for an application key. */
    readonly agentUuid: string | null,
  ) {
    followers(queue).add(this);
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

  capture(change: CallQueueChange): void {
    if (this.broken) return;
    this.buffer.push(change);
    if (this.buffer.length > this.conn.limits.recoveryBufferMessages) {
      this.broken = true;
      this.buffer = [];
    }
  }

  /** Step 1: from now on every published change is captured. */
  startCapture(): void {
    this.buffer = [];
    this.broken = false;
    this.queue.recovering.add(this);
  }

  stopCapture(): void {
    this.queue.recovering.delete(this);
    this.buffer = [];
  }

  /** A new join (or the end): the running one stops at its next step. */
  nextRun(): number {
    return ++this.run;
  }

  isRun(run: number): boolean {
    return this.run === run && this.state !== 'ended' && !this.conn.closed;
  }

  /** The buffered changes after lastSeq, if they continue it exactly up to the topic's last seq. */
  takeContinuation(): CallQueueChange[] | null {
    if (this.broken) return null;
    const pending = this.buffer.filter((c) => c.seq > this.lastSeq);
    for (let i = 0; i < pending.length; i++) if (pending[i]!.seq !== this.lastSeq + 1 + i) return null;
    const last = pending.length === 0 ? this.lastSeq : pending[pending.length - 1]!.seq;
    return last === this.queue.lastSeq ? pending : null;
  }

  pause(): void {
    if (this.state !== 'live') return;
    this.leaveTopic();
    this.state = 'lagging';
  }

  resume(): void {
    if (this.state !== 'lagging') return;
    rejoin(this);
  }

  leaveTopic(): void {
    if (this.conn.closed || this.conn.ws === null) return;
    try {
      this.conn.ws.unsubscribe(this.topic);
    } catch {
      // closed under us
    }
  }

  /** Sends one update frame; false when the connection is gone. */
  sendUpdate(change: CallQueueChange): boolean {
    if (!sendFrame(this.conn, updateFrame(change))) return false;
    this.lastSeq = change.seq;
    return true;
  }

  sendSnapshot(snapshot: CallQueueSnapshot): boolean {
    const { queue, seq, callers, members, stats } = snapshot;
    if (!sendFrame(this.conn, { type: 'callqueue.snapshot', queue_id: this.queueId, seq, queue, callers, members, stats })) return false;
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
export async function readStart(store: CallStore, sub: CallQueueSubscription, sinceSeq: number | undefined): Promise<JoinStart> {
  const { app, queueId } = sub.queue.ref;
  if (sinceSeq !== undefined) {
    const changes = await store.changesSince(app, queueId, sinceSeq);
    if (changes !== null) return { kind: 'changes', since: sinceSeq, changes };
  }
  return { kind: 'snapshot', snapshot: await store.snapshot(app, queueId) };
}

/**
 * Step 3, run after the start was sent: waits for the topic to reach lastSeq, then joins it with
 * the buffered continuation. When the continuation is not exact, sends a fresh snapshot and tries
 * again. Storage failures are retried; a deleted queue ends the subscription.
 */
export async function goLive(sub: CallQueueSubscription, run: number): Promise<void> {
  const { queue, conn } = sub;
  for (;;) {
    if (!sub.isRun(run)) return;
    if (queue.rebasing !== null) await queue.rebasing;
    if (!sub.isRun(run)) return;
    queue.flush();
    if (queue.lastSeq < sub.lastSeq && !(await queue.reached(sub.lastSeq, ANNOUNCE_WAIT_MS))) {
      if (!sub.isRun(run)) return;
      if (!(await resnapshot(sub, run))) return;
      continue;
    }
    if (!sub.isRun(run)) return;
    // From here to the topic join nothing awaits: what the hub still holds back is published and
    // captured first, so the socket joins right after its last change.
    queue.flush();
    const continuation = queue.rebasing === null ? sub.takeContinuation() : null;
    if (continuation === null) {
      if (!(await resnapshot(sub, run))) return;
      continue;
    }
    let written = true;
    corked(conn, () => {
      for (const change of continuation) if (!(written = sub.sendUpdate(change))) return;
    });
    // joinTopic's anchor keeps frames published but not yet written when this socket later leaves
    // its last topic (a member_removed before its unsubscribed).
    if (!written || !conn.joinTopic(sub.topic)) return;
    sub.stopCapture();
    sub.state = 'live';
    return;
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
  if (sub.state === 'live') sub.leaveTopic();
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
  if (sub.state === 'ended') return;
  if (sub.state === 'live') sub.leaveTopic();
  sub.stopCapture();
  sub.state = 'ended';
  sub.nextRun();
  followers(sub.queue).delete(sub);
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
