/**
 * One socket following one feed (feed-hub.ts), and the gapless join that brings it live
 * (protocol/websocket.md 4.2–4.3, 5.1–5.2; STYLE.md example 6). The same steps for every kind of
 * feed; a kind (subscription.ts, callqueue-subscription.ts) adds only how it reads storage and how
 * its frames look:
 *
 *   1. the hub's store subscription is active, and this socket is registered as recovering on the
 *      feed (startCapture): every entry put on the topic from now on is captured into its buffer;
 *   2. the kind reads storage from the resume point (history pages, retained changes, or a
 *      snapshot, the feed's base) and sends it; `lastSeq` is the last seq the socket was given;
 *   3. tryJoin: once no rebase is running and the topic has reached `lastSeq` (an entry read from
 *      storage can be announced to this node later, and would otherwise come twice), in ONE
 *      synchronous step: the buffered entries with seq > lastSeq are sent, the socket joins the
 *      feed's uWS topic and stops recovering. Nothing can be published between the flush and the
 *      join, so nothing is missed or repeated.
 *
 * Every entry on the topic after step 1 is in the buffer, and every one before it is in storage
 * when step 2 reads, so the two together cover the feed (announcements come in order, so a buffered
 * entry implies every earlier one of the buffer). The buffer must continue lastSeq exactly up to the
 * topic's last seq (continuesExactly); when it does not (or it overflowed, or the feed was
 * interrupted), step 2 runs again — except that a feed whose storage can have holes (deleted or
 * expired messages) accepts a hole that a second read confirmed.
 *
 * A socket leaves live delivery (leaveLive: slow consumer, interruption) with its resume point at
 * the topic's last seq, and joins again the same way.
 */
import { continuesExactly } from '../../engine/feed.js';
import type { Connection } from './connection.js';
import type { FeedEntry, FeedFollower, HubFeed } from './feed-hub.js';

/** How long a join waits for the live feed to announce what storage already gave the socket. */
export const ANNOUNCE_WAIT_MS = 2000;
/** How long a join waits before retrying a storage read that failed (engine unavailable). */
export const READ_RETRY_MS = 1000;

export type FollowerState = 'recovering' | 'live' | 'lagging' | 'ended';

/** What tryJoin did: joined the topic; storage must be read again (a `hole` once: see the top); or this run stopped. */
export type JoinResult = 'joined' | 'reread' | 'hole' | 'stopped';

export abstract class Follower<Ref, E extends FeedEntry> implements FeedFollower<E> {
  state: FollowerState = 'recovering';
  /** The identity of the last entry written (a message id), when the kind has identities. */
  lastId: string | null = null;
  /** Bumped whenever the running catch-up must stop (a new one started, or the subscription ended). */
  run = 0;
  private buffer: E[] = [];
  private bufferBytes = 0;
  /** The buffer lost entries (overflow, interruption): storage must be read again. */
  private broken = false;

  constructor(
    readonly conn: Connection,
    readonly feed: HubFeed<Ref, E>,
    /** The last seq written to the socket (or, while live, where it joined the topic). */
    public lastSeq: number,
  ) {
    feed.followers.add(this);
  }

  /** The uWS topic this socket joins (per-entry or batch, in its wire format). */
  abstract get topic(): string;

  /** Bytes an entry counts against recovery_buffer_bytes (0: not bounded by bytes). */
  protected sizeOf(_entry: E): number {
    return 0;
  }

  /** The feed may have lost entries (feed-hub.ts): each kind catches up again its own way. */
  abstract interrupted(): void;

  /** Writes the buffered continuation at the join (corked by the caller); false when the socket is gone. */
  protected abstract sendPending(entries: E[]): boolean;

  get ended(): boolean {
    return this.state === 'ended';
  }

  get ref(): Ref {
    return this.feed.ref;
  }

  /** Called by the hub for every entry put on the topic while recovering. */
  capture(entry: E): void {
    if (this.broken || entry.seq <= this.lastSeq) return;
    this.buffer.push(entry);
    this.bufferBytes += this.sizeOf(entry);
    const { recoveryBufferMessages, recoveryBufferBytes } = this.conn.limits;
    if (this.buffer.length > recoveryBufferMessages || this.bufferBytes > recoveryBufferBytes) this.breakBuffer();
  }

  /** The buffer can no longer be trusted to continue storage: the next join reads storage again. */
  breakBuffer(): void {
    this.broken = true;
    this.buffer = [];
    this.bufferBytes = 0;
  }

  /** Step 1: from now on every published entry is captured. */
  startCapture(): void {
    this.buffer = [];
    this.bufferBytes = 0;
    this.broken = false;
    this.feed.recovering.add(this);
  }

  stopCapture(): void {
    this.feed.recovering.delete(this);
    this.buffer = [];
    this.bufferBytes = 0;
  }

  get bufferBroken(): boolean {
    return this.broken;
  }

  /** A new catch-up (or the end): the running one stops at its next step. */
  nextRun(): number {
    return ++this.run;
  }

  isRun(run: number): boolean {
    return this.run === run && this.state !== 'ended' && !this.conn.closed;
  }

  /** Buffered entries not yet sent, in order (seq only grows along the buffer). */
  private takePending(): E[] {
    const first = this.buffer.findIndex((e) => e.seq > this.lastSeq);
    const pending = first < 0 ? [] : this.buffer.slice(first);
    if (first !== 0) {
      this.buffer = pending;
      this.bufferBytes = pending.reduce((n, e) => n + this.sizeOf(e), 0);
    }
    return pending;
  }

  /**
   * Step 3, after storage was read and sent up to lastSeq. `acceptHole`: a hole between lastSeq and
   * the buffer was already read for once (a feed whose storage has holes takes it as they are).
   */
  async tryJoin(run: number, acceptHole = false): Promise<JoinResult> {
    const { feed, conn } = this;
    if (feed.rebasing !== null) await feed.rebasing;
    if (!this.isRun(run)) return 'stopped';
    if (feed.lastSeq < this.lastSeq) {
      feed.flush();
      if (feed.lastSeq < this.lastSeq && !(await feed.reached(this.lastSeq, ANNOUNCE_WAIT_MS))) {
        // Still not announced: read storage again (a resync moves the base).
        return this.isRun(run) ? 'reread' : 'stopped';
      }
      if (!this.isRun(run)) return 'stopped';
    }
    // From here to the topic join nothing awaits. What the hub still holds back is put on the
    // topic and captured here first, so this socket joins right after its last entry.
    feed.flush();
    if (feed.rebasing !== null || this.broken) return 'reread';
    const pending = this.takePending();
    if (!continuesExactly(pending, this.lastSeq, feed.lastSeq) && !acceptHole) return 'hole';
    let written = true;
    if (pending.length > 0) written = this.sendPending(pending);
    // joinTopic's anchor keeps frames published but not yet written when this socket later leaves
    // its last topic.
    if (!written || !conn.joinTopic(this.topic)) return 'stopped';
    this.stopCapture();
    feed.live.add(this);
    this.state = 'live';
    return 'joined';
  }

  /** Leaves live delivery; the resume point becomes the topic's last entry. */
  leaveLive(): void {
    if (this.state !== 'live') return;
    const { feed } = this;
    // Everything the store announced goes to the topic (and so to this socket) before it leaves.
    feed.flush();
    // That flush may have ended this subscription (a call queue deleted): nothing more to do.
    if (this.state !== 'live') return;
    this.leaveTopic();
    if (feed.lastSeq > this.lastSeq) {
      this.lastSeq = feed.lastSeq;
      this.lastId = feed.lastId;
    }
    this.state = 'lagging';
  }

  /** Stops following: no frame of it is written after this returns; false when it had already stopped. */
  protected stop(): boolean {
    if (this.state === 'ended') return false;
    const wasLive = this.state === 'live';
    this.state = 'ended';
    this.run++;
    this.stopCapture();
    this.feed.followers.delete(this);
    if (wasLive) {
      // What the store announced before the end still reaches this socket (it is on the topic).
      this.feed.flush();
      this.leaveTopic();
    }
    return true;
  }

  private leaveTopic(): void {
    const { conn } = this;
    this.feed.live.delete(this);
    if (conn.closed || conn.ws === null) return;
    try {
      conn.ws.unsubscribe(this.topic);
    } catch {
      // closed under us
    }
  }
}
