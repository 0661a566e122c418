/**
 * A socket following one message partition: the partition kind of feed (feed-hub.ts FeedKind) and
 * its catch-up from history (protocol/websocket.md 4.2–4.3). The gapless join itself is
 * follower.ts's, shared with call queues; what is the partition's own:
 *
 *   - storage is read in pages from the resume point (after a message id, since a timestamp, the
 *     oldest, or only new), each page sent paced by the send path;
 *   - seqs have holes in storage (deleted and expired messages), so a hole between the last message
 *     sent and the live buffer is read for once more and then taken as it is;
 *   - when the feed is interrupted, a live socket leaves the topic and resumes from its last message
 *     with a `resync` frame whose `recovered` says whether that message was still stored; one
 *     catching up reads storage again. The same catch-up resumes a socket that left live delivery
 *     as a slow consumer.
 *
 * A subscription made with `batch` gets the same messages in `messages` frames (wire.ts
 * encodeBatches): catch-up pages and the recovery buffer as batches, then the partition's batch
 * topic. Everything above holds message by message; only the framing differs.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerFrame } from '../../codec/index.js';
import type { ResyncFrame } from '../../codec/index.js';
import { partitionFeed, partitionKey } from '../../engine/feeds.js';
import type { MessageFeeds } from '../../domain/queues/feeds.js';
import type { PartitionRef, StoredMessage } from '../../engine/types.js';

export { partitionKey };
import type { Logger } from '../../logger.js';
import { metrics, observeDelivery } from '../../metrics/registry.js';
import type { Connection } from './connection.js';
import { FeedHub, type FeedKind, type HubFeed } from './feed-hub.js';
import { Follower, READ_RETRY_MS, type FollowerState } from './follower.js';
import { corked, isOverLimit, sendEncoded, sendFrame, waitForDrain } from './send.js';
import { encodeBatches, messageFrame } from './wire.js';

/** Where a catch-up starts: strictly after a message, at a timestamp, the oldest, or only new. */
export type ResumeCursor =
  | { kind: 'after'; id: string; seq: number }
  | { kind: 'since'; seconds: number }
  | { kind: 'start' }
  | { kind: 'newest' };

export type SubscriptionState = FollowerState;

export type HubPartition = HubFeed<PartitionRef, StoredMessage>;
export type Hub = FeedHub<PartitionRef, StoredMessage, 'message'>;

export interface CatchUpEnv {
  engine: MessageFeeds;
  hub: Hub;
  logger: Logger;
}

/** Message partitions as a feed: the engine's source of them, `message` frames and batches. */
function partitionKind(engine: MessageFeeds, maxBatchBytes: number): FeedKind<PartitionRef, StoredMessage, 'message'> {
  return {
    source: partitionFeed(engine),
    names: { hub: 'ws hub', field: 'partition' },
    topicPrefix: 'hl/m',
    batchPrefix: 'hl/b',
    frame: (ref, m) => messageFrame(ref.app, ref.queue, m),
    *batches(ref, messages, format) {
      for (const { data } of encodeBatches(ref, messages, format, maxBatchBytes)) yield data;
    },
    delivered: (m, live) => observeDelivery(m.timestampUs, live),
  };
}

/** The node's hub of message partitions; `maxBatchBytes` bounds a `messages` frame (websocket.md 4.2: max_frame_bytes). */
export function partitionHub(engine: MessageFeeds, app: TemplatedApp, logger: Logger, maxBatchBytes: number): Hub {
  return new FeedHub(partitionKind(engine, maxBatchBytes), app, logger);
}

function bodyBytes(m: StoredMessage): number {
  return typeof m.body === 'string' ? m.body.length : m.body.byteLength;
}

export class PartitionSubscription extends Follower<PartitionRef, StoredMessage> {
  constructor(
    readonly env: CatchUpEnv,
    conn: Connection,
    part: HubPartition,
    /** Delivery in `messages` frames (subscribe's `batch`). */
    readonly batch = false,
  ) {
    super(conn, part, 0);
  }

  get part(): HubPartition {
    return this.feed;
  }

  get topic(): string {
    return (this.batch ? this.feed.batchTopics! : this.feed.topics)[this.conn.format];
  }

  protected override sizeOf(m: StoredMessage): number {
    return bodyBytes(m);
  }

  protected sendPending(messages: StoredMessage[]): boolean {
    sendRun(this, messages, false);
    return true;
  }

  /** A recovering socket reads storage again; a live one leaves the topic and resumes (reason engine). */
  interrupted(): void {
    if (this.state === 'recovering') this.breakBuffer();
    else if (this.state === 'live') {
      this.leaveLive();
      resync(this.env, this, 'engine');
    }
  }

  /** Ends following; false when it had ended already. */
  end(): boolean {
    return this.stop();
  }

  resumeCursor(fallback: ResumeCursor): ResumeCursor {
    return this.lastId === null ? fallback : { kind: 'after', id: this.lastId, seq: this.lastSeq };
  }
}

function sendMessage(sub: PartitionSubscription, m: StoredMessage): boolean {
  const frame = messageFrame(sub.ref.app, sub.ref.queue, m);
  if (!sendEncoded(sub.conn, encodeServerFrame(frame, sub.conn.format))) return false;
  sub.lastSeq = m.seq;
  sub.lastId = m.id;
  return true;
}

/**
 * Writes `messages` (in order, all after the last sent) as the subscription's frames, corked;
 * with `paced`, stops once the buffer passes the soft limit. Returns how many were written.
 */
function sendRun(sub: PartitionSubscription, messages: readonly StoredMessage[], paced: boolean): number {
  const { conn } = sub;
  let sent = 0;
  corked(conn, () => {
    if (!sub.batch) {
      for (const m of messages) {
        if (!sendMessage(sub, m)) return;
        sent++;
        if (paced && isOverLimit(conn)) return;
      }
      return;
    }
    for (const { data, last } of encodeBatches(sub.ref, messages, conn.format, conn.limits.maxFrameBytes)) {
      if (!sendEncoded(conn, data)) return;
      sub.lastSeq = last.seq;
      sub.lastId = last.id;
      sent = messages.indexOf(last, sent) + 1;
      if (paced && isOverLimit(conn)) return;
    }
  });
  return sent;
}

interface Page {
  messages: StoredMessage[];
  /** More may follow in storage. */
  full: boolean;
  /** With an `after` cursor: whether that message is still stored. */
  recovered: boolean;
}

async function readPage(engine: MessageFeeds, ref: PartitionRef, cursor: ResumeCursor, size: number): Promise<Page> {
  switch (cursor.kind) {
    case 'after': {
      // `since` is inclusive: the resume message itself comes first when it is still stored.
      const raw = await engine.read(ref, { since: { kind: 'id', id: cursor.id }, limit: size + 1, order: 'ascending' });
      return { messages: raw.filter((m) => m.seq > cursor.seq), full: raw.length > size, recovered: raw[0]?.id === cursor.id };
    }
    case 'since': {
      const raw = await engine.read(ref, { since: { kind: 'timestamp', seconds: cursor.seconds }, limit: size, order: 'ascending' });
      return { messages: raw, full: raw.length === size, recovered: true };
    }
    case 'start':
    case 'newest': {
      const raw = await engine.read(ref, { limit: size, order: 'ascending' });
      return { messages: raw, full: raw.length === size, recovered: true };
    }
  }
}

export interface CatchUpOptions {
  /** Runs after the first storage read, before any message is sent (the `resync` frame). */
  announce?: (recovered: boolean) => void;
  /** Messages wait for this (the `subscribed` reply); false cancels. */
  gate?: Promise<boolean>;
  /**
   * Retry a failed first read too, instead of rejecting `first`. For a resync nobody is waiting to
   * report the failure to: the engine announces it as soon as its live feed is back, which may be
   * before its command connection is (each reconnects on its own schedule), and a catch-up that
   * gave up there would leave the subscription silent for good.
   */
  retryFirst?: boolean;
}

/**
 * Starts a catch-up; `first` settles after the first storage read with its `recovered`, or rejects
 * when that read fails (the subscribe then fails; with `retryFirst` it is retried instead). Later
 * failures are retried.
 */
export function startCatchUp(env: CatchUpEnv, sub: PartitionSubscription, cursor: ResumeCursor, opts: CatchUpOptions = {}): { first: Promise<boolean> } {
  const run = sub.nextRun();
  let settle!: { resolve: (recovered: boolean) => void; reject: (err: unknown) => void };
  const first = new Promise<boolean>((resolve, reject) => (settle = { resolve, reject }));
  first.catch(() => undefined);
  const alive = (): boolean => sub.isRun(run);

  sub.state = 'recovering';
  sub.startCapture();

  const loop = async (): Promise<void> => {
    const { conn } = sub;
    const pageSize = conn.limits.historyPageSize;
    let isFirst = true;
    let holeChecked = false;
    for (;;) {
      let page: Page;
      try {
        if (cursor.kind === 'newest') {
          // "Only new": after the newest message stored now (the buffer already captures later ones).
          const [newest] = await env.engine.read(sub.ref, { limit: 1, order: 'descending' });
          if (newest !== undefined) {
            sub.lastId = newest.id;
            sub.lastSeq = newest.seq;
          }
          cursor = sub.resumeCursor({ kind: 'start' });
        }
        page = await readPage(env.engine, sub.ref, cursor, pageSize);
      } catch (err) {
        if (isFirst && opts.retryFirst !== true) {
          settle.reject(err);
          return;
        }
        if (!alive()) return;
        env.logger.warn({ err, partition: sub.part.key, connection: conn.id }, 'ws catch-up: storage read failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
        if (!alive()) return;
        sub.startCapture();
        cursor = sub.resumeCursor(cursor);
        continue;
      }
      if (!alive()) return;
      if (isFirst) {
        isFirst = false;
        settle.resolve(page.recovered);
        opts.announce?.(page.recovered);
        if (opts.gate !== undefined && !(await opts.gate)) return;
        if (!alive()) return;
      }

      // Send the page, pausing whenever the socket's buffer passes the soft limit.
      let rest = page.messages.filter((m) => m.seq > sub.lastSeq);
      while (rest.length > 0) {
        const sent = sendRun(sub, rest, true);
        if (sent === 0 || !alive()) return; // nothing written: the socket is closing
        rest = rest.slice(sent);
        if (isOverLimit(conn) && !((await waitForDrain(conn)) && alive())) return;
        rest = rest.filter((m) => m.seq > sub.lastSeq);
      }
      cursor = sub.resumeCursor(cursor);
      if (page.full) continue;

      // Storage is exhausted up to now: merge with the live buffer and go live (follower.ts).
      const joined = await sub.tryJoin(run, holeChecked);
      if (joined === 'joined' || joined === 'stopped') return;
      if (joined === 'hole') {
        // Every seq between the last sent and the buffer should be in storage; read once more to be
        // sure (a remaining hole is messages deleted or expired: seq gaps are normal).
        holeChecked = true;
      } else if (sub.bufferBroken) {
        sub.startCapture();
        holeChecked = false;
      }
    }
  };
  loop().catch((err: unknown) => {
    settle.reject(err);
    env.logger.error({ err, partition: sub.part.key, connection: sub.conn.id }, 'ws catch-up failed');
    sub.conn.close(1011, 'internal');
  });
  return { first };
}

/** Leaves live delivery; the resume point becomes the hub's last published message. */
export function leaveLive(sub: PartitionSubscription): void {
  sub.leaveLive();
}

/** Resumes a partition that left live delivery: `resync`, the missed messages from storage, live. */
export function resync(env: CatchUpEnv, sub: PartitionSubscription, reason: ResyncFrame['reason']): void {
  metrics().resyncs.inc({ reason });
  const announce = (recovered: boolean): void => {
    sendFrame(sub.conn, {
      type: 'resync',
      application: sub.ref.app,
      queue: sub.ref.queue,
      partition: sub.ref.partition,
      reason,
      recovered,
    });
  };
  startCatchUp(env, sub, sub.resumeCursor({ kind: 'start' }), { announce, retryFirst: true });
}

/** Ends the subscription: no frame of it is written after this returns. */
export function endSubscription(env: CatchUpEnv, sub: PartitionSubscription): void {
  if (!sub.end()) return;
  if (sub.conn.subs.get(sub.part.key) === sub) sub.conn.subs.delete(sub.part.key);
  env.hub.release(sub.part);
}
