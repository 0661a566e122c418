/**
 * A stand-in for the client's connection in SDK unit tests (src/client/session.ts): it records
 * every request a subscription or call-queue view sends and lets the test answer each by hand, so
 * every frame sequence is exact and no network is involved.
 */
import type { ClientFrame, ClientFrameType, ServerFrame } from '../../src/codec/frames.js';
import type { CallQueueViewHost } from '../../src/client/callqueue-view.js';
import type { EventTailHost } from '../../src/client/event-tail.js';
import { HoldlineClientError } from '../../src/client/errors.js';
import type { ReplyTo } from '../../src/client/requests.js';
import type { RequestFrame } from '../../src/client/session.js';
import type { Subscription, SubscriptionHost } from '../../src/client/subscription.js';

export interface Sent {
  frame: RequestFrame;
  resolve(frame: ServerFrame): void;
  reject(err: Error): void;
  onReply: ((frame: ServerFrame) => void) | undefined;
}

export class RecordingHost implements SubscriptionHost, CallQueueViewHost, EventTailHost {
  generation = 1;
  connected = true;
  sent: Sent[] = [];
  recycled: string[] = [];
  /** Partitions a subscription gave up (forgetPartitions). */
  forgotten: number[] = [];
  isCurrent(g: number): boolean {
    return this.connected && g === this.generation;
  }
  currentGeneration(): number | null {
    return this.connected ? this.generation : null;
  }
  request<K extends ClientFrameType>(g: number, frame: RequestFrame<K>, onReply?: (reply: ReplyTo<K>) => void): Promise<ReplyTo<K>> {
    if (!this.isCurrent(g)) return Promise.reject(new HoldlineClientError('disconnected', 'gone'));
    return new Promise((resolve, reject) =>
      this.sent.push({ frame, resolve: (f) => resolve(f as ReplyTo<K>), reject, onReply: onReply as ((f: ServerFrame) => void) | undefined }),
    );
  }
  recycle(_g: number, reason: string): void {
    this.recycled.push(reason);
  }
  listenerError(err: unknown): void {
    throw err;
  }
  /** Partitions a subscription to every partition learnt from its reply (claimPartitions). */
  claimed: number[] = [];
  claimPartitions(_sub: Subscription, partitions: number[]): void {
    this.claimed.push(...partitions);
  }
  forgetPartitions(_sub: Subscription, partitions: number[]): void {
    this.forgotten.push(...partitions);
  }
  forgetView(): void {}
  forgetTail(): void {}
  /** Answers request i: the synchronous hook first, as the client does, then the promise. */
  reply(i: number, frame: ServerFrame): void {
    const s = this.#at(i);
    s.onReply?.(frame);
    s.resolve(frame);
  }
  /** Fails request i (no reply, or an `error` frame). */
  fail(i: number, err: Error): void {
    this.#at(i).reject(err);
  }
  frames(): ClientFrame['type'][] {
    return this.sent.map((s) => s.frame.type);
  }
  #at(i: number): Sent {
    const s = this.sent[i];
    if (s === undefined) throw new Error(`no request ${i}`);
    return s;
  }
}
