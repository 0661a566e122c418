/**
 * One socket following one partition, and the gapless catch-up that brings it live
 * (protocol/websocket.md 4.2–4.3, STYLE.md example 6):
 *
 *   1. the hub's engine subscription is active, and this socket is registered as recovering on
 *      the partition: every live message from now on is captured into its recovery buffer;
 *   2. history is read from the resume point in pages and sent, paced by the send path;
 *   3. once the partition's topic has reached the last message sent (hub.ts: a message read from
 *      storage can be announced to this node later), in ONE synchronous step: the buffered
 *      messages with seq > the last sent are sent, the socket joins the partition's uWS topic, and
 *      stops recovering. Nothing can be published between the flush and the join, so nothing is
 *      missed or repeated.
 *
 * Every message on the topic after step 1 is in the buffer, and every one before it is in
 * storage when step 2 reads, so the two together cover the partition (announcements come in
 * order, so a buffered message implies every earlier one of the buffer). A buffer that overflows,
 * or an engine resync while recovering, restarts step 2 from the last message sent.
 *
 * The same catch-up resumes a partition after the socket left live delivery (slow consumer,
 * engine resync), announced by a `resync` frame.
 *
 * A subscription made with `batch` gets the same messages in `messages` frames (wire.ts
 * encodeBatches): catch-up pages and the recovery buffer as batches, then the partition's batch
 * topic (hub.ts). Everything above holds message by message; only the framing differs.
 */
import { encodeServerFrame } from '../../codec/index.js';
import type { ResyncFrame } from '../../codec/index.js';
import type { MessageFeeds } from '../../domain/queues/feeds.js';
import type { PartitionRef, StoredMessage } from '../../engine/types.js';
import type { Logger } from '../../logger.js';
import { metrics } from '../../metrics/registry.js';
import type { Connection } from './connection.js';
import type { Hub, HubPartition } from './hub.js';
import { corked, isOverLimit, sendEncoded, sendFrame, waitForDrain } from './send.js';
import { encodeBatches, messageFrame } from './wire.js';

/** Where a catch-up starts: strictly after a message, at a timestamp, the oldest, or only new. */
export type ResumeCursor =
  | { kind: 'after'; id: string; seq: number }
  | { kind: 'since'; seconds: number }
  | { kind: 'start' }
  | { kind: 'newest' };

export type SubscriptionState = 'recovering' | 'live' | 'lagging' | 'ended';

export interface CatchUpEnv {
  engine: MessageFeeds;
  hub: Hub;
  logger: Logger;
}

/** How long a catch-up waits before retrying a storage read that failed (engine unavailable). */
const READ_RETRY_MS = 1000;
/** How long a catch-up waits for the live feed to announce what it read from storage. */
const ANNOUNCE_WAIT_MS = 2000;

export class PartitionSubscription {
  state: SubscriptionState = 'recovering';
  /** The last message written to the socket (or, while live, the hub's last published one). */
  lastSeq = 0;
  lastId: string | null = null;
  /** Bumped whenever the running catch-up must stop (a new one started, or the subscription ended). */
  run = 0;
  private buffer: StoredMessage[] = [];
  private bufferBytes = 0;
  /** The buffer lost messages (overflow, engine resync): the catch-up must read storage again. */
  private broken = false;

  constructor(
    readonly conn: Connection,
    readonly part: HubPartition,
    /** Delivery in `messages` frames (subscribe's `batch`). */
    readonly batch = false,
  ) {}

  get ref(): PartitionRef {
    return this.part.ref;
  }

  get topic(): string {
    return (this.batch ? this.part.batchTopics : this.part.topics)[this.conn.format];
  }

  /** Called by the hub for every live message while recovering. */
  capture(m: StoredMessage): void {
    if (this.broken || m.seq <= this.lastSeq) return;
    this.buffer.push(m);
    this.bufferBytes += typeof m.body === 'string' ? m.body.length : m.body.byteLength;
    const { recoveryBufferMessages, recoveryBufferBytes } = this.conn.limits;
    if (this.buffer.length > recoveryBufferMessages || this.bufferBytes > recoveryBufferBytes) this.breakBuffer();
  }

  breakBuffer(): void {
    this.broken = true;
    this.buffer = [];
    this.bufferBytes = 0;
  }

  startCapture(): void {
    this.buffer = [];
    this.bufferBytes = 0;
    this.broken = false;
    this.part.recovering.add(this);
  }

  stopCapture(): void {
    this.part.recovering.delete(this);
    this.buffer = [];
    this.bufferBytes = 0;
  }

  get bufferBroken(): boolean {
    return this.broken;
  }

  /** Buffered messages not yet sent, in order (seq only grows along the buffer). */
  takePending(): StoredMessage[] {
    const first = this.buffer.findIndex((m) => m.seq > this.lastSeq);
    const pending = first < 0 ? [] : this.buffer.slice(first);
    if (first !== 0) {
      this.buffer = pending;
      this.bufferBytes = pending.reduce((n, m) => n + (typeof m.body === 'string' ? m.body.length : m.body.byteLength), 0);
    }
    return pending;
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
  const run = ++sub.run;
  let settle!: { resolve: (recovered: boolean) => void; reject: (err: unknown) => void };
  const first = new Promise<boolean>((resolve, reject) => (settle = { resolve, reject }));
  first.catch(() => undefined);
  const alive = (): boolean => sub.run === run && sub.state !== 'ended' && !sub.conn.closed;

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

      // Storage is exhausted up to now: merge with the live buffer and go live.
      // The topic must have reached what this socket was given: a message read from storage may
      // be announced to this node only later, and would then come twice (hub.ts).
      if (sub.part.lastSeq < sub.lastSeq) {
        sub.part.flush();
        if (sub.part.lastSeq < sub.lastSeq && !(await sub.part.reached(sub.lastSeq, ANNOUNCE_WAIT_MS))) {
          if (!alive()) return;
          continue; // still not announced: read storage again (an engine resync moves the base)
        }
        if (!alive()) return;
      }
      // From here to goLive nothing awaits. Messages the hub still holds back are put on the
      // topic and captured here first, so this socket joins the topic right after its last one.
      sub.part.flush();
      if (sub.bufferBroken) {
        sub.startCapture();
        holeChecked = false;
        continue;
      }
      const pending = sub.takePending();
      // Every seq between the last sent and the first buffered one should be in storage; read once
      // more to be sure (a remaining hole is messages deleted or expired: seq gaps are normal).
      if (pending.length > 0 && pending[0]!.seq > sub.lastSeq + 1 && !holeChecked) {
        holeChecked = true;
        continue;
      }
      goLive(sub, pending);
      return;
    }
  };
  loop().catch((err: unknown) => {
    settle.reject(err);
    env.logger.error({ err, partition: sub.part.key, connection: sub.conn.id }, 'ws catch-up failed');
    sub.conn.close(1011, 'internal');
  });
  return { first };
}

/** Step 3: flush the buffered messages and join the topic, with nothing in between. */
function goLive(sub: PartitionSubscription, pending: StoredMessage[]): void {
  const { conn } = sub;
  sendRun(sub, pending, false);
  if (!conn.joinTopic(sub.topic)) return;
  sub.stopCapture();
  sub.part.live.add(sub);
  sub.state = 'live';
}

/** Leaves live delivery; the resume point becomes the hub's last published message. */
export function leaveLive(sub: PartitionSubscription): void {
  if (sub.state !== 'live') return;
  const { conn, part } = sub;
  // Everything the engine announced goes to the topic (and so to this socket) before it leaves.
  part.flush();
  part.live.delete(sub);
  if (!conn.closed && conn.ws !== null) {
    try {
      conn.ws.unsubscribe(sub.topic);
    } catch {
      // closed under us
    }
  }
  if (part.lastSeq > sub.lastSeq && part.lastId !== null) {
    sub.lastSeq = part.lastSeq;
    sub.lastId = part.lastId;
  }
  sub.state = 'lagging';
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
  if (sub.state === 'ended') return;
  leaveLive(sub);
  sub.stopCapture();
  sub.state = 'ended';
  sub.run++;
  if (sub.conn.subs.get(sub.part.key) === sub) sub.conn.subs.delete(sub.part.key);
  env.hub.release(sub.part);
}
