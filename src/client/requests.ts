/**
 * Requests in flight on one connection, matched to replies by `id` (websocket.md 3.1: every client
 * frame gets exactly one reply with the same id; unrelated replies may come in any order).
 *
 * `onReply` runs synchronously while the reply frame is dispatched, before any later frame: a
 * `subscribed` reply must switch its partitions to live before the `message` frames right behind it
 * are routed, and a promise continuation would run too late when several frames arrive at once.
 */
import type { ClientFrameType, ErrorFrame, RequestId, ServerFrame } from '../codec/frames.js';
import { REPLY_TYPE } from '../codec/frames.js';
import { HoldlineClientError, HoldlineRequestError } from './errors.js';

export type ReplyTo<K extends ClientFrameType> = Extract<ServerFrame, { type: (typeof REPLY_TYPE)[K] }>;

interface Pending {
  op: ClientFrameType;
  resolve(frame: ServerFrame): void;
  reject(err: Error): void;
  onReply: ((frame: ServerFrame) => void) | undefined;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  #nextId = 1;
  readonly #pending = new Map<RequestId, Pending>();

  /** `onSettled` runs after each request leaves (reply, error, timeout): a slot is free again. */
  constructor(private readonly onSettled: () => void = () => {}) {}

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a request; the caller sends it with the returned id. */
  add<K extends ClientFrameType>(
    op: K,
    timeoutMs: number,
    onReply?: (frame: ReplyTo<K>) => void,
  ): { id: number; reply: Promise<ReplyTo<K>> } {
    const id = this.#nextId++;
    const reply = new Promise<ReplyTo<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new HoldlineClientError('timeout', `no reply to ${op} within ${timeoutMs} ms`));
        this.onSettled();
      }, timeoutMs);
      this.#pending.set(id, {
        op,
        resolve: resolve as (frame: ServerFrame) => void,
        reject,
        onReply: onReply as ((frame: ServerFrame) => void) | undefined,
        timer,
      });
    });
    return { id, reply };
  }

  /** Settles the request this frame answers; false when it answers none of ours. */
  settle(frame: ServerFrame & { id?: RequestId }): boolean {
    if (frame.id === undefined) return false;
    const p = this.#pending.get(frame.id);
    if (p === undefined) return false;
    this.#pending.delete(frame.id);
    clearTimeout(p.timer);
    if (frame.type === 'error') {
      p.reject(new HoldlineRequestError((frame as ErrorFrame).error, (frame as ErrorFrame).op ?? p.op));
    } else if (frame.type !== REPLY_TYPE[p.op]) {
      p.reject(new HoldlineClientError('protocol', `${p.op} answered with ${frame.type}, expected ${REPLY_TYPE[p.op]}`));
    } else {
      try {
        p.onReply?.(frame);
      } finally {
        p.resolve(frame);
      }
    }
    this.onSettled();
    return true;
  }

  /** A reply that could not be decoded but whose id was readable. */
  fail(id: RequestId, err: Error): boolean {
    const p = this.#pending.get(id);
    if (p === undefined) return false;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
    this.onSettled();
    return true;
  }

  /** Forgets a request without settling it (it was never sent). */
  drop(id: number, err: Error): void {
    this.fail(id, err);
  }

  rejectAll(err: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
