/**
 * What subscriptions and call-queue views need from the client: requests bound to one connection,
 * and a way to have the connection recycled. A connection's `generation` tags everything sent on
 * it, so a continuation that resumes after a reconnect cannot act on the wrong connection.
 */
import type { ClientFrame, ClientFrameType } from '../codec/frames.js';
import { ERRORS } from '../errors.js';
import { HoldlineClientError, HoldlineRequestError } from './errors.js';
import type { ReplyTo } from './requests.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A client frame without its `id`: the client assigns ids. */
export type RequestFrame<K extends ClientFrameType = ClientFrameType> = DistributiveOmit<Extract<ClientFrame, { type: K }>, 'id'> & {
  type: K;
};

export interface Session {
  /** Whether connection `generation` is the current, open one. */
  isCurrent(generation: number): boolean;
  /** The current connection's generation; null while disconnected. */
  currentGeneration(): number | null;
  /** Sends on connection `generation` only; rejects with `disconnected` if it is gone. */
  request<K extends ClientFrameType>(
    generation: number,
    frame: RequestFrame<K>,
    onReply?: (reply: ReplyTo<K>) => void,
  ): Promise<ReplyTo<K>>;
  /** Drops connection `generation` (if still current) so the reconnect loop starts afresh. */
  recycle(generation: number, reason: string): void;
  /** Errors thrown by application listeners and callbacks. */
  listenerError(err: unknown): void;
}

/**
 * What a subscription does when (re)subscribing failed:
 * - `ignore`: the connection is gone; the next one resubscribes anyway;
 * - `recycle`: no answer or a server-side (5xx) error: reconnect, the loop's backoff paces retries;
 * - `end`: the server refused for good (4xx: queue deleted, access revoked, bad partition; or
 *   `not_implemented`).
 */
export function subscribeFailure(err: unknown): 'ignore' | 'recycle' | 'end' {
  if (err instanceof HoldlineClientError) {
    return err.kind === 'disconnected' || err.kind === 'closed' ? 'ignore' : 'recycle';
  }
  if (err instanceof HoldlineRequestError) {
    const spec = (ERRORS as Record<string, { status: number } | undefined>)[err.code];
    // already_subscribed cannot happen on a connection this SDK manages unless the two sides
    // disagree; a fresh connection settles it. Unknown codes: a newer server; retrying is safer.
    // not_implemented (501) is permanent: this server lacks the feature, reconnecting cannot help.
    if (err.code === 'not_implemented') return 'end';
    if (spec === undefined || spec.status >= 500 || err.code === 'already_subscribed') return 'recycle';
    return 'end';
  }
  return 'end';
}
