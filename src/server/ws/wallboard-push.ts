/**
 * The `callqueue.stats` push (protocol/websocket.md 5.6): each node pushes a call queue's wallboard
 * to its own sockets following it, on the queue's topics (the same uWS topics as its updates, so
 * only live followers get it, in order with the updates around it).
 *
 * When: within a second after a change of the queue was published here (every node sees every
 * change of the queues it follows), at most once per second per queue, and every 60 s while the
 * queue has followers on this node (the windows slide with the clock). Each push reads the
 * wallboard once (CallService.wallboardFrame) and encodes it once per wire format, whatever the
 * number of sockets.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerFrame } from '../../codec/index.js';
import type { WallboardFrame } from '../../engine/wallboard.js';
import type { Logger } from '../../logger.js';
import { metrics } from '../../metrics/registry.js';
import type { HubCallQueue } from './callqueue-subscription.js';
import { FORMATS } from './feed-hub.js';

export const WALLBOARD_MIN_INTERVAL_MS = 1000;
export const WALLBOARD_REFRESH_MS = 60_000;

interface QueuePush {
  feed: HubCallQueue;
  timer: NodeJS.Timeout | null;
  /** When the timer fires (ms). */
  dueAt: number;
  /** When the last frame was sent (ms): the next is sent at least WALLBOARD_MIN_INTERVAL_MS later. */
  lastAt: number;
  /** A push is reading the wallboard; a change meanwhile is pushed after it (`pending`). */
  inFlight: boolean;
  pending: boolean;
}

export class WallboardPusher {
  private readonly queues = new Map<string, QueuePush>();
  private closed = false;

  constructor(
    private readonly app: TemplatedApp,
    private readonly read: (app: string, queueId: string) => Promise<WallboardFrame | null>,
    private readonly logger: Logger,
  ) {}

  /** A change of the feed's queue is on its topics (or a socket started following it). */
  changed(feed: HubCallQueue): void {
    this.schedule(feed, 0);
  }

  private schedule(feed: HubCallQueue, afterMs: number): void {
    if (this.closed || feed.dropped) return;
    let q = this.queues.get(feed.key);
    if (q === undefined) {
      q = { feed, timer: null, dueAt: 0, lastAt: 0, inFlight: false, pending: false };
      this.queues.set(feed.key, q);
    }
    q.feed = feed;
    if (q.inFlight) {
      // Spaced from the send of the push under way, not from its start: a slow read must not
      // let two frames out within one second.
      q.pending = true;
      return;
    }
    const now = Date.now();
    const at = Math.max(now + afterMs, q.lastAt + WALLBOARD_MIN_INTERVAL_MS);
    if (q.timer !== null) {
      if (q.dueAt <= at) return;
      clearTimeout(q.timer);
    }
    q.dueAt = at;
    const entry = q;
    q.timer = setTimeout(() => void this.push(entry), at - now);
    q.timer.unref();
  }

  private async push(q: QueuePush): Promise<void> {
    q.timer = null;
    const { feed } = q;
    if (this.closed || feed.dropped || feed.followers.size === 0) {
      this.queues.delete(feed.key);
      return;
    }
    q.inFlight = true;
    let frame: WallboardFrame | null;
    try {
      frame = await this.read(feed.ref.app, feed.ref.queueId);
    } catch (err) {
      this.logger.warn({ err, callQueue: feed.key }, 'ws call queue: wallboard read failed');
      frame = null;
    } finally {
      q.inFlight = false;
    }
    if (this.closed || feed.dropped) return;
    if (frame !== null) {
      q.lastAt = Date.now();
      const full = { type: 'callqueue.stats' as const, ...frame };
      for (const format of FORMATS) {
        const topic = feed.topics[format];
        const subscribers = this.app.numSubscribers(topic);
        if (subscribers === 0) continue;
        this.app.publish(topic, encodeServerFrame(full, format), format === 'msgpack');
        metrics().wsFramesOut.inc(subscribers);
      }
    }
    const pending = q.pending;
    q.pending = false;
    this.schedule(feed, pending ? 0 : WALLBOARD_REFRESH_MS);
  }

  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) if (q.timer !== null) clearTimeout(q.timer);
    this.queues.clear();
  }
}
