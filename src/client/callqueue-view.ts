/**
 * A live view of one call queue (protocol/websocket.md section 5): it subscribes, applies the
 * snapshot and every update through CallQueueState, and always holds the current ordered waiting
 * callers. It survives reconnects: it resumes with `since_seq` (or gets a fresh snapshot). It
 * resubscribes with `since_seq` by itself when it detects a gap, and asks for a fresh snapshot
 * (`callqueue.refresh`, websocket.md 5.3) when an update does not fit its view.
 */
import type {
  CallQueueSnapshotFrame,
  CallQueueStatsFrame,
  CallQueueSubscribedFrame,
  CallQueueUnsubscribedFrame,
  CallQueueUpdateFrame,
  WireCallQueue,
  WireCallQueueStats,
  WireCaller,
  WireMember,
} from '../codec/frames.js';
import { CallQueueState } from './callqueue-state.js';
import { HoldlineRequestError } from './errors.js';
import { FeedSubscription, type FeedEnd } from './feed.js';
import type { RequestFrame, Session } from './session.js';

export type CallQueueChange =
  | { kind: 'snapshot'; seq: number }
  | { kind: 'update'; seq: number; update: CallQueueUpdateFrame };

export type CallQueueViewEnd = FeedEnd;

export interface CallQueueViewEvents {
  /** After every applied snapshot or update; the view already shows it. */
  change: CallQueueChange;
  /** Each (re)subscription: recovered true = resumed from since_seq, false = a snapshot follows. */
  subscribed: { seq: number; recovered: boolean };
  /** The view found a gap and resubscribes (since_seq null: for a fresh snapshot). */
  resubscribing: { sinceSeq: number | null; detail: string };
  /** An update did not fit the view: it asked for a fresh snapshot and ignores updates until it arrives. */
  refreshing: { detail: string };
  ended: CallQueueViewEnd;
  /** A `callqueue.stats` frame arrived (websocket.md 5.6); `view.wallboard` already holds it. */
  wallboard: CallQueueStatsFrame;
}

/**
 * - `pending`: not subscribed on the current connection (offline, or subscribing);
 * - `awaiting_snapshot`: subscribed, the snapshot has not arrived yet;
 * - `live`: updates apply as they come.
 */
export type CallQueueViewState =
  | { status: 'pending' }
  | { status: 'awaiting_snapshot' }
  | { status: 'live'; seq: number }
  | { status: 'ended'; end: CallQueueViewEnd };

/** @internal */
export interface CallQueueViewHost extends Session {
  forgetView(view: CallQueueView): void;
}

type Phase = 'pending' | 'subscribing' | 'awaiting_snapshot' | 'live' | 'resubscribing';

export class CallQueueView extends FeedSubscription<CallQueueViewEvents, void> {
  /** Resolves once the view holds the queue's state (its first snapshot). */
  declare readonly ready: Promise<void>;
  readonly queueId: string;
  protected readonly what = 'call queue view';
  readonly #host: CallQueueViewHost;
  readonly #state: CallQueueState;
  #phase: Phase = 'pending';
  /** Set when the view's state cannot be trusted: the next subscribe asks for a snapshot. */
  #needSnapshot = true;
  #wallboard: CallQueueStatsFrame | null = null;
  /** The last estimates received (snapshot or wallboard) and when they arrived (local ms). */
  #estimates: ReadonlyMap<string, number | null> = new Map();
  #estimatesAt = 0;

  /** @internal Created by HoldlineClient.callQueue. */
  constructor(host: CallQueueViewHost, queueId: string) {
    super(host);
    this.#host = host;
    this.queueId = queueId;
    this.#state = new CallQueueState(queueId);
  }

  get state(): CallQueueViewState {
    if (this.end !== null) return { status: 'ended', end: this.end };
    if (this.#phase === 'live' && this.#state.seq !== null) return { status: 'live', seq: this.#state.seq };
    if (this.#phase === 'awaiting_snapshot') return { status: 'awaiting_snapshot' };
    return { status: 'pending' };
  }

  /** The seq of the last applied change; null before the first snapshot. */
  get seq(): number | null {
    return this.#state.seq;
  }

  /** Waiting callers in position order; each one's `position` is its index. */
  get waiting(): readonly WireCaller[] {
    return this.#state.waiting;
  }

  /** All callers: waiting ones in position order, then ringing and connected ones in join order. */
  get callers(): readonly WireCaller[] {
    return this.#state.callers;
  }

  get members(): readonly WireMember[] {
    return this.#state.members;
  }

  get stats(): WireCallQueueStats | null {
    return this.#state.stats;
  }

  /**
   * The last wallboard pushed (websocket.md 5.6: every window at one instant, at most once a second);
   * null before the first. Windows in order 15m, 1h, today.
   */
  get wallboard(): CallQueueStatsFrame | null {
    return this.#wallboard;
  }

  /** @internal */
  onWallboard(frame: CallQueueStatsFrame): void {
    if (this.end !== null) return;
    this.#wallboard = frame;
    this.#setEstimates(frame.estimates);
    this.emit('wallboard', frame);
  }

  /**
   * Estimated waits (routing.md section 9) by waiting caller uuid, seconds, as last received: with
   * the snapshot, then with every `callqueue.stats` push (websocket.md 5.6); null: no member can
   * serve that caller. Not counted down: see estimate().
   */
  get estimates(): ReadonlyMap<string, number | null> {
    return this.#estimates;
  }

  /**
   * A waiting caller's estimated wait now, seconds: the last one received, less the time since it
   * arrived (never below 0) — a display's countdown between pushes; the next push (within a second
   * of any change of the queue, every 60 s at the latest) gives the model's value again, which holds
   * still while every member is on a call (routing.md section 9). null: no member can serve it;
   * undefined: the caller is not waiting, or no estimate of it has arrived yet (it joined since the
   * last push).
   */
  estimate(uuid: string, nowMs: number = Date.now()): number | null | undefined {
    if (this.#state.caller(uuid)?.status !== 'waiting') return undefined;
    const e = this.#estimates.get(uuid);
    if (e === undefined || e === null) return e;
    return Math.max(0, Math.round((e - Math.max(0, nowMs - this.#estimatesAt) / 1000) * 10) / 10);
  }

  #setEstimates(estimates: Record<string, number | null> | undefined): void {
    if (estimates === undefined) return;
    this.#estimates = new Map(Object.entries(estimates));
    this.#estimatesAt = Date.now();
  }

  get queue(): WireCallQueue | null {
    return this.#state.queue;
  }

  /** One caller with its current position (null unless waiting); undefined if not in the queue. */
  caller(uuid: string): WireCaller | undefined {
    return this.#state.caller(uuid);
  }

  /** Stops following the queue. */
  close(): Promise<void> {
    return this.stop(this.#unsubscribeFrame());
  }

  /** From the last applied seq, or for a snapshot. */
  protected resume(generation: number): Promise<void> {
    return this.#subscribe(generation);
  }

  /** @internal */
  onDisconnect(): void {
    if (this.end === null) this.#phase = 'pending';
  }

  /** @internal */
  onSnapshot(frame: CallQueueSnapshotFrame): void {
    // Accepted whenever the server may send one: after subscribing, or on its own while live (5.2).
    if (this.#phase !== 'awaiting_snapshot' && this.#phase !== 'live') return;
    this.#state.applySnapshot(frame);
    this.#setEstimates(frame.estimates);
    this.#needSnapshot = false;
    this.#phase = 'live';
    this.settleReady();
    this.emit('change', { kind: 'snapshot', seq: frame.seq });
  }

  /** @internal */
  onUpdate(frame: CallQueueUpdateFrame, generation: number): void {
    if (this.#phase !== 'live') return;
    const result = this.#state.applyUpdate(frame);
    switch (result.kind) {
      case 'applied':
        this.emit('change', { kind: 'update', seq: frame.seq, update: frame });
        return;
      case 'stale':
        return;
      case 'gap':
        void this.#resubscribe(generation, result.sinceSeq, `expected seq ${result.sinceSeq + 1}, got ${frame.seq}`);
        return;
      case 'inconsistent':
        this.#needSnapshot = true;
        void this.#refresh(generation, result.detail);
        return;
    }
  }

  /** @internal The server ended the subscription (5.4). */
  onServerUnsubscribed(frame: CallQueueUnsubscribedFrame): void {
    this.finish({ reason: frame.reason });
  }

  async #subscribe(generation: number): Promise<void> {
    if (this.end !== null) return;
    this.#phase = 'subscribing';
    const sinceSeq = this.#needSnapshot ? null : this.#state.seq;
    const onReply = (reply: CallQueueSubscribedFrame): void => {
      if (this.end !== null) return;
      // Synchronous with the reply: a snapshot or the resumed updates follow it directly.
      this.#phase = reply.recovered ? 'live' : 'awaiting_snapshot';
      this.emit('subscribed', { seq: reply.seq, recovered: reply.recovered });
    };
    try {
      await this.#host.request(
        generation,
        sinceSeq === null ? { type: 'callqueue.subscribe', queue_id: this.queueId } : { type: 'callqueue.subscribe', queue_id: this.queueId, since_seq: sinceSeq },
        onReply,
      );
    } catch (err) {
      this.failed(generation, err);
    }
  }

  /** websocket.md 5.3: a fresh snapshot without leaving the subscription; updates wait for it. */
  async #refresh(generation: number, detail: string): Promise<void> {
    this.#phase = 'awaiting_snapshot';
    this.emit('refreshing', { detail });
    try {
      await this.#host.request(generation, { type: 'callqueue.refresh', queue_id: this.queueId });
    } catch (err) {
      // A server without the frame (unknown_frame_type), or one that no longer has the
      // subscription: a new subscription without since_seq gives the snapshot too.
      if (err instanceof HoldlineRequestError && this.end === null && this.#phase === 'awaiting_snapshot') {
        await this.#resubscribe(generation, null, detail);
      } else {
        this.failed(generation, err);
      }
    }
  }

  #resubscribe(generation: number, sinceSeq: number | null, detail: string): Promise<void> {
    this.#phase = 'resubscribing';
    this.emit('resubscribing', { sinceSeq, detail });
    return this.resubscribe(generation, this.#unsubscribeFrame(), () => this.#subscribe(generation));
  }

  #unsubscribeFrame(): RequestFrame<'callqueue.unsubscribe'> {
    return { type: 'callqueue.unsubscribe', queue_id: this.queueId };
  }

  protected release(): void {
    this.#host.forgetView(this);
  }
}
