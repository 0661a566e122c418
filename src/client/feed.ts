/**
 * What every SDK follower of a numbered feed shares (SPEC.md section 1 "Feeds"): a message
 * subscription (subscription.ts) and a call-queue view (callqueue-view.ts) today, the event log's
 * live tail next. A feed follower
 * - is (re)subscribed by the client's one reconnect loop: `activate` on every new connection (from
 *   its own resume point), `onDisconnect` when the connection is lost;
 * - resubscribes by itself on the same connection when it finds a gap (unsubscribe, then subscribe);
 * - has a `ready` promise, settled once: resolved by the subclass when it first holds the feed,
 *   rejected if the follower ends before that;
 * - ends once (`ended` event): asked by the application, by the server, on a refusal that
 *   reconnecting cannot cure (session.ts subscribeFailure), or when the client stops for good; a
 *   failure that it can cure recycles the connection, so the loop's backoff paces the retries.
 * A subclass says how to subscribe from its resume point and what its frames mean.
 */
import type { SubscriptionEndReason } from '../codec/frames.js';
import { TypedEmitter } from './emitter.js';
import { subscribeFailure, type RequestFrame, type Session } from './session.js';

/** How a follower ended: asked for, the server's reason, or a refusal (`error`). */
export type FeedEnd = { reason: SubscriptionEndReason } | { reason: 'error'; error: Error };

export abstract class FeedSubscription<Events extends { ended: FeedEnd }, Ready> extends TypedEmitter<Events> {
  /** Resolves once the follower first holds the feed; rejects if it ends before. */
  readonly ready: Promise<Ready>;
  protected readonly host: Session;
  #end: FeedEnd | null = null;
  #activations = 0;
  #readySettled = false;
  #resolveReady!: (value: Ready) => void;
  #rejectReady!: (e: Error) => void;

  constructor(host: Session) {
    super((err) => host.listenerError(err));
    this.host = host;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // awaited or not, a failure also arrives as `ended`
  }

  /** How it ended; null while it follows. */
  protected get end(): FeedEnd | null {
    return this.#end;
  }

  /** @internal A connection is up: (re)subscribe from the resume point. */
  async activate(generation: number): Promise<void> {
    if (this.#end !== null) return;
    await this.resume(generation, this.#activations++ === 0);
  }

  /** @internal The connection is lost; the next `activate` resumes. */
  abstract onDisconnect(): void;

  /**
   * @internal The client stopped for good (close(), or the server's final close): no connection
   * will resume the follower, so it ends with the client's `closed` error instead of waiting forever.
   */
  onClientStopped(error: Error): void {
    this.finish({ reason: 'error', error });
  }

  /** Subscribes on connection `generation` from the resume point; `first`: never subscribed before. */
  protected abstract resume(generation: number, first: boolean): Promise<void>;

  /** The client must stop routing frames to this follower and stop resubscribing it. */
  protected abstract release(): void;

  protected settleReady(value: Ready): void {
    if (this.#readySettled) return;
    this.#readySettled = true;
    this.#resolveReady(value);
  }

  /**
   * The application stops following: ends at once, then sends `request` (the unsubscribe frame)
   * if connected; resolves once the server confirmed.
   */
  protected async stop(request: RequestFrame): Promise<void> {
    if (this.#end !== null) return;
    this.finish({ reason: 'requested' });
    const generation = this.host.currentGeneration();
    if (generation === null) return;
    try {
      await this.host.request(generation, request);
    } catch {
      // Disconnected or closed: the server forgot the subscription with the connection.
    }
  }

  /**
   * On the same connection: leave the feed (`unsubscribe`), then `subscribe` again from the
   * resume point, unless the follower ended meanwhile. A failure goes to `failed`.
   */
  protected async resubscribe(generation: number, unsubscribe: RequestFrame, subscribe: () => Promise<unknown>): Promise<void> {
    try {
      await this.host.request(generation, unsubscribe);
      if (this.#end === null) await subscribe();
    } catch (err) {
      this.failed(generation, err);
    }
  }

  /** (Re)subscribing failed: ignore (the connection is gone), recycle the connection, or end. */
  protected failed(generation: number, err: unknown): void {
    if (this.#end !== null) return;
    const action = subscribeFailure(err);
    if (action === 'recycle') this.host.recycle(generation, 'resubscribe_failed');
    else if (action === 'end') this.finish({ reason: 'error', error: err instanceof Error ? err : new Error(String(err)) });
  }

  protected finish(end: FeedEnd): void {
    if (this.#end !== null) return;
    this.#end = end;
    this.release();
    if (!this.#readySettled) {
      this.#readySettled = true;
      this.#rejectReady(end.reason === 'error' ? end.error : new Error(`${this.what} ended: ${end.reason}`));
    }
    this.emit('ended', end as Events['ended']);
  }

  /** Names the follower in errors ("subscription", "call queue view"). */
  protected abstract readonly what: string;
}
