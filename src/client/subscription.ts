/**
 * A subscription to some partitions of one message queue, kept alive across reconnects
 * (protocol/websocket.md 4.2–4.4). It remembers the last message delivered per partition, resumes
 * from there on every new connection, and reports per partition whether the server could recover
 * completely. Duplicates and out-of-order frames are dropped; a seq jump inside a delivery run
 * resubscribes the partition from its last message (cursor.ts explains when gaps are normal).
 *
 * HoldlineClient subscribes with `batch: true` by default (websocket.md 4.2): the server sends `messages`
 * frames, several messages per frame, which costs far less per message at high rates. The
 * application still gets one `message` event per message, exactly as from `message` frames: each
 * item goes through the same cursor, one by one.
 */
import type { MessageFrame, MessagesFrame, ResyncFrame, SubscribedFrame, SubscriptionEndReason, UnsubscribedFrame } from '../codec/frames.js';
import { PartitionCursor, onlyNewOrigin, resumeRequests, type ResumePoint, type ResumeRequest } from './cursor.js';
import { HoldlineRequestError } from './errors.js';
import { FeedSubscription, type FeedEnd } from './feed.js';
import type { RequestFrame, Session } from './session.js';

export interface SubscribeOptions {
  /**
   * Partition numbers. Without it, what the protocol's `subscribe` follows (websocket.md 4.2): the
   * partitions `after` names; with `since`, every partition the queue has when the subscription is
   * first made; with neither, **partition 1 only**. Name them to follow several partitions live.
   */
  partitions?: number[];
  /** Partition → the last message id the application already has; delivery starts after it. */
  after?: Record<number | string, string>;
  /** Epoch seconds: every stored message with timestamp >= since, then live ones. */
  since?: number;
}

/** Why a partition was (re)subscribed: the first time, after a reconnect, the server's resync, a seq gap. */
export type RecoveryCause = 'subscribe' | 'reconnect' | 'resync' | 'gap';

export interface PartitionRecovery {
  application: string;
  queue: string;
  partition: number;
  /** false: messages between the resume point and the oldest stored one may be lost (4.2). */
  recovered: boolean;
  cause: RecoveryCause;
}

/**
 * `error`: the server refused to (re)subscribe (unknown queue, forbidden, partition out of range…),
 * or the client stopped for good (HoldlineClientError `closed`: close(), or a final close code).
 */
export type SubscriptionEnd = FeedEnd;

export interface SubscriptionEvents {
  message: MessageFrame;
  recovery: PartitionRecovery;
  resync: ResyncFrame;
  /** The server ended some partitions (queue deleted, access revoked); `ended` follows if none remain. */
  unsubscribed: { partitions: number[]; reason: SubscriptionEndReason };
  ended: SubscriptionEnd;
}

export type SubscriptionState =
  | { status: 'pending' }
  | { status: 'live' }
  | { status: 'ended'; end: SubscriptionEnd };

type PartitionStatus = 'pending' | 'subscribing' | 'live' | 'resubscribing';

/**
 * Internal link to the client's routing table. A subscription to every partition of a queue holds
 * WHOLE_QUEUE there until the server's first reply names the partitions, which it then claims.
 */
export interface SubscriptionHost extends Session {
  claimPartitions(sub: Subscription, partitions: number[]): void;
  forgetPartitions(sub: Subscription, partitions: number[]): void;
}

/** The routing table's entry for "every partition of the queue, not known yet" (no partition is 0). */
export const WHOLE_QUEUE = 0;

export class Subscription extends FeedSubscription<SubscriptionEvents, PartitionRecovery[]> {
  /** Resolves with each partition's recovery once first subscribed; rejects if that fails. */
  declare readonly ready: Promise<PartitionRecovery[]>;
  readonly application: string;
  readonly queue: string;
  protected readonly what = 'subscription';
  readonly #host: SubscriptionHost;
  readonly #status = new Map<number, PartitionStatus>();
  /**
   * A partition without a cursor starts "only new": it gets one from its `subscribed` reply, which
   * says where the server started delivery (cursor.ts onlyNewOrigin).
   */
  readonly #cursors = new Map<number, PartitionCursor>();
  #droppedWhileNotLive = 0;
  /**
   * `since` without `partitions`: every partition of the queue. Until a `subscribed` reply lists
   * them (then undefined), #status is empty and (re)subscribing sends `since` without `partitions`
   * (websocket.md 4.2).
   */
  #wholeQueueSince: number | undefined;

  /** Ask the server for `messages` frames (HoldlineClientOptions.batch); off once a server refused it. */
  #batch: boolean;

  /** @internal Created by HoldlineClient.subscribe. */
  constructor(host: SubscriptionHost, application: string, queue: string, partitions: number[] | null, opts: SubscribeOptions, batch = false) {
    super(host);
    this.#batch = batch;
    this.#host = host;
    this.application = application;
    this.queue = queue;
    this.#wholeQueueSince = partitions === null ? opts.since : undefined;
    for (const p of partitions ?? []) {
      this.#status.set(p, 'pending');
      const start = origin(p, opts);
      if (start !== null) this.#cursors.set(p, new PartitionCursor(p, start));
    }
  }

  /** The partitions followed; empty while a subscription to every partition awaits its first reply. */
  get partitions(): number[] {
    return [...this.#status.keys()].sort((a, b) => a - b);
  }

  get state(): SubscriptionState {
    if (this.end !== null) return { status: 'ended', end: this.end };
    const live = this.#status.size > 0 && [...this.#status.values()].every((s) => s === 'live');
    return live ? { status: 'live' } : { status: 'pending' };
  }

  /** Partition → id of the last message delivered (or the `after` point not yet passed). */
  lastMessageIds(): Record<number, string> {
    const out: Record<number, string> = {};
    for (const c of this.#cursors.values()) if (c.lastId !== null) out[c.partition] = c.lastId;
    return out;
  }

  /** Frames dropped as duplicates, out of order, or outside a live delivery run. */
  get droppedFrames(): number {
    let n = this.#droppedWhileNotLive;
    for (const c of this.#cursors.values()) n += c.staleDropped;
    return n;
  }

  /** Stops the subscription; resolves once the server confirmed (or at once when offline). */
  unsubscribe(): Promise<void> {
    return this.stop(this.#unsubscribeFrame(this.partitions));
  }

  /** Every partition from its resume point. */
  protected async resume(generation: number, first: boolean): Promise<void> {
    const cause: RecoveryCause = first ? 'subscribe' : 'reconnect';
    for (const p of this.#status.keys()) this.#status.set(p, 'subscribing');
    try {
      const onlyNew = this.partitions.filter((p) => !this.#cursors.has(p));
      const requests: SubscribeRequest[] = resumeRequests(this.#cursors.values());
      if (onlyNew.length > 0) requests.push({ partitions: onlyNew });
      // Every partition of the queue, not known yet: the server picks them (a `since` frame without `partitions`).
      if (this.#wholeQueueSince !== undefined) requests.push({ since: this.#wholeQueueSince });
      const results = await Promise.all(requests.map((req) => this.#subscribe(generation, req, cause)));
      this.settleReady(results.flat());
    } catch (err) {
      this.failed(generation, err);
    }
  }

  /** @internal */
  onDisconnect(): void {
    for (const p of this.#status.keys()) this.#status.set(p, 'pending');
  }

  /** @internal */
  onMessage(frame: MessageFrame, generation: number): void {
    const cursor = this.#cursors.get(frame.partition);
    if (this.#status.get(frame.partition) !== 'live' || cursor === undefined) {
      this.#droppedWhileNotLive++;
      return;
    }
    const verdict = cursor.accept(frame);
    if (verdict === 'deliver') this.emit('message', frame);
    else if (verdict === 'gap') void this.#resubscribe(generation, cursor);
  }

  /** @internal A `messages` frame: its items, in order, exactly as if each had come in its own `message` frame. */
  onMessages(frame: MessagesFrame, generation: number): void {
    const { application, queue, partition } = frame;
    for (const { message_id, ...rest } of frame.messages) {
      this.onMessage({ type: 'message', application, queue, message_id, partition, ...rest }, generation);
    }
  }

  /** @internal The server interrupted live delivery and resumes by itself after the last message (4.3). */
  onResync(frame: ResyncFrame): void {
    const cursor = this.#cursors.get(frame.partition);
    if (this.#status.get(frame.partition) !== 'live' || cursor === undefined) return;
    cursor.startRun();
    this.emit('resync', frame);
    this.#recovery(frame.partition, frame.recovered, 'resync');
  }

  /** @internal The server ended some partitions on its own (4.4). */
  onServerUnsubscribed(frame: UnsubscribedFrame): void {
    const gone = frame.partitions.filter((p) => this.#status.has(p));
    if (gone.length === 0) return;
    for (const p of gone) {
      this.#status.delete(p);
      this.#cursors.delete(p);
    }
    this.#host.forgetPartitions(this, gone);
    this.emit('unsubscribed', { partitions: gone, reason: frame.reason });
    if (this.#status.size === 0) this.finish({ reason: frame.reason });
  }

  #subscribe(generation: number, req: SubscribeRequest, cause: RecoveryCause): Promise<PartitionRecovery[]> {
    const recoveries: PartitionRecovery[] = [];
    const onReply = (reply: SubscribedFrame): void => {
      // Synchronous with the reply: the message frames right behind it must find the partition live.
      if (req.partitions === undefined && this.#wholeQueueSince !== undefined && this.end === null) this.#learnPartitions(reply, this.#wholeQueueSince);
      for (const { partition, recovered, last_message_id } of reply.partitions) {
        if (this.end !== null || !this.#status.has(partition)) continue;
        let cursor = this.#cursors.get(partition);
        if (cursor === undefined) {
          // "Only new": resumable from where the server started delivering it.
          cursor = new PartitionCursor(partition, onlyNewOrigin(last_message_id));
          this.#cursors.set(partition, cursor);
        }
        cursor.startRun();
        this.#status.set(partition, 'live');
        recoveries.push(this.#recovery(partition, recovered, cause));
      }
    };
    const batch = this.#batch;
    return this.#host
      .request(generation, { type: 'subscribe', application: this.application, queue: this.queue, ...req, ...(batch ? { batch: true } : {}) }, onReply)
      .then(
        () => recoveries,
        (err: unknown) => {
          // A server older than batched delivery refuses the field (invalid_field, changing
          // nothing): ask for one `message` frame per message from then on.
          if (!batch || !(err instanceof HoldlineRequestError) || err.code !== 'invalid_field' || err.field !== 'batch') throw err;
          this.#batch = false;
          return this.#subscribe(generation, req, cause);
        },
      );
  }

  /** The server's answer to "every partition": they are this subscription's from now on, each from `since`. */
  #learnPartitions(reply: SubscribedFrame, since: number): void {
    this.#wholeQueueSince = undefined;
    const learnt = reply.partitions.map((p) => p.partition);
    for (const p of learnt) {
      this.#status.set(p, 'subscribing');
      this.#cursors.set(p, new PartitionCursor(p, { kind: 'since', time: since }));
    }
    this.#host.claimPartitions(this, learnt);
  }

  #resubscribe(generation: number, cursor: PartitionCursor): Promise<void> {
    const p = cursor.partition;
    this.#status.set(p, 'resubscribing');
    return this.resubscribe(generation, this.#unsubscribeFrame([p]), async () => {
      const [req] = resumeRequests([cursor]);
      if (req !== undefined && this.#status.has(p)) await this.#subscribe(generation, req, 'gap');
    });
  }

  /** Without partitions (every partition, not known yet): the server's default, this connection's partitions of the queue, all this subscription's. */
  #unsubscribeFrame(partitions: number[]): RequestFrame<'unsubscribe'> {
    return { type: 'unsubscribe', application: this.application, queue: this.queue, ...(partitions.length > 0 ? { partitions } : {}) };
  }

  #recovery(partition: number, recovered: boolean, cause: RecoveryCause): PartitionRecovery {
    const r: PartitionRecovery = { application: this.application, queue: this.queue, partition, recovered, cause };
    this.emit('recovery', r);
    return r;
  }

  protected release(): void {
    this.#host.forgetPartitions(this, [...(this.#wholeQueueSince === undefined ? [] : [WHOLE_QUEUE]), ...this.#status.keys()]);
  }
}

/** A `subscribe` frame's fields after `application` and `queue`; without `partitions`, the server's default. */
type SubscribeRequest = Omit<ResumeRequest, 'partitions'> & { partitions?: number[] };

/** Null: "only new", positioned by the server's `subscribed` reply (also for partitions missing from `after`, 4.2). */
function origin(partition: number, opts: SubscribeOptions): ResumePoint | null {
  // By number, as checkPartitions matched the keys: `after: {"01": id}` must not start partition 1 "only new".
  const id = Object.entries(opts.after ?? {}).find(([key]) => Number(key) === partition)?.[1];
  if (id !== undefined) return { kind: 'after', messageId: id };
  if (opts.since !== undefined) return { kind: 'since', time: opts.since };
  return null;
}
