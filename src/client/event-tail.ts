/**
 * The live tail of the application's event log (protocol/websocket.md 12): it subscribes with its
 * conditions, emits each matching event once and in log order, and survives reconnects by
 * resuming after the last event it emitted (`since`). A resume the server cannot honour (the log
 * reclaimed events after that point) is reported, not hidden: `subscribed` with `recovered: false`.
 */
import type { EventCondition, EventFrame, EventsSubscribedFrame, EventsUnsubscribedFrame, WireEvent } from '../codec/frames.js';
import { FeedSubscription, type FeedEnd } from './feed.js';
import type { RequestFrame, Session } from './session.js';

export interface EventTailOptions {
  /**
   * Conditions every event must meet (Panko's q: `event_type`, eq only, or a trait with an op and a
   * type; websocket.md 12.1); none: every event.
   */
  q?: EventCondition[];
  /** The message_id of the last event already had: the tail starts after it. Absent: from now. */
  since?: string;
}

export interface EventTailEvents {
  /** One matching event, in log order, once (across reconnects too). */
  event: { seq: number; event: WireEvent };
  /**
   * Each (re)subscription. recovered false: the events after the resume point were no longer
   * all held (retention), and the tail goes on from the oldest event still held; or a tail that had
   * no position to resume from (it started on an empty log and has had no event yet) resumed from
   * now, past events recorded while it was disconnected.
   */
  subscribed: { seq: number; recovered: boolean };
  ended: FeedEnd;
}

/** @internal */
export interface EventTailHost extends Session {
  forgetTail(tail: EventTail): void;
}

export class EventTail extends FeedSubscription<EventTailEvents, { recovered: boolean }> {
  /** Resolves at the first subscription, with whether the resume point was honoured. */
  declare readonly ready: Promise<{ recovered: boolean }>;
  protected readonly what = 'event tail';
  readonly conditions: readonly EventCondition[];
  readonly #host: EventTailHost;
  #lastId: string | null;
  #lastSeq: number | null = null;
  #subscribed = false;

  /** @internal Created by HoldlineClient.events. */
  constructor(host: EventTailHost, options: EventTailOptions = {}) {
    super(host);
    this.#host = host;
    this.conditions = options.q ?? [];
    this.#lastId = options.since ?? null;
  }

  /**
   * The message_id of the last event emitted, or before the first one the resume point: the one
   * given, or where the tail started (the log's newest event then); null: none yet (an empty log).
   */
  get lastEventId(): string | null {
    return this.#lastId;
  }

  /** Stops following. */
  close(): Promise<void> {
    return this.stop({ type: 'events.unsubscribe' });
  }

  protected resume(generation: number): Promise<void> {
    return this.#subscribe(generation);
  }

  /** @internal */
  onDisconnect(): void {
    this.#subscribed = false;
  }

  /** @internal */
  onEvent(frame: EventFrame): void {
    if (!this.#subscribed || this.end !== null) return;
    // After a resubscription the server starts after our last event: an older seq is a repeat.
    if (this.#lastSeq !== null && frame.seq <= this.#lastSeq) return;
    this.#lastSeq = frame.seq;
    this.#lastId = frame.event.message_id;
    this.emit('event', { seq: frame.seq, event: frame.event });
  }

  /** @internal The server ended the tail: `events_lost` is resumed (and reported by `subscribed`). */
  onServerUnsubscribed(frame: EventsUnsubscribedFrame, generation: number): void {
    if (this.end !== null) return;
    if (frame.reason === 'events_lost') {
      this.#subscribed = false;
      void this.#subscribe(generation);
      return;
    }
    this.finish({ reason: 'requested' });
  }

  async #subscribe(generation: number): Promise<void> {
    if (this.end !== null) return;
    const frame: RequestFrame<'events.subscribe'> = { type: 'events.subscribe' };
    if (this.conditions.length > 0) frame.q = [...this.conditions];
    if (this.#lastId !== null) frame.since = this.#lastId;
    const fromNow = this.#lastId === null;
    const onReply = (reply: EventsSubscribedFrame): void => {
      if (this.end !== null) return;
      // Synchronous with the reply: the events after reply.seq follow it directly.
      this.#subscribed = true;
      // "From now" made resumable, as a subscription's only-new partitions are (websocket.md 12.1):
      // the next connection resumes at this position, not at its own "now".
      if (fromNow && reply.last_event_id != null) this.#lastId = reply.last_event_id;
      // No position to resume from (an empty log, or a server without last_event_id): events
      // recorded while disconnected were skipped, and a larger seq says so.
      const skipped = fromNow && this.#lastSeq !== null && reply.seq > this.#lastSeq;
      const recovered = reply.recovered && !skipped;
      this.#lastSeq = reply.seq;
      this.emit('subscribed', { seq: reply.seq, recovered });
      this.settleReady({ recovered });
    };
    try {
      await this.#host.request(generation, frame, onReply);
    } catch (err) {
      this.failed(generation, err);
    }
  }

  protected release(): void {
    this.#host.forgetTail(this);
  }
}
