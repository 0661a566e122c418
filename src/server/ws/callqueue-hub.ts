/**
 * Live call-queue fan-out on this node (protocol/websocket.md 5.3), the call-queue twin of hub.ts.
 * One CallStore.subscribeQueue per call queue that at least one socket here follows (refcounted:
 * the last to leave unsubscribes). Each change is encoded once per wire format and handed to uWS
 * with app.publish() on one topic per queue and format.
 *
 * The topic is a sequence: it carries the queue's changes with seq > `baseSeq`, each once, in
 * order, with no gap (a queue's seq grows by exactly 1 per change, calls.md 4). The base is the
 * queue's seq read (a snapshot) just after the store subscription became active: every later
 * change is announced to this node, possibly after another socket's snapshot already included it,
 * so an announcement at or below `lastSeq` is old news and skipped. An announcement that is not
 * `lastSeq + 1` means the feed lost changes: it is handled as the store's `resync` event (every
 * socket gets a fresh snapshot, the base is read again).
 *
 * Sockets catching up (callqueue-subscription.ts) are `recovering` on the queue: every change put
 * on the topic is also captured into their buffers, in the same synchronous step, so a socket can
 * join the topic right after the last change it was given.
 *
 * Changes are published from a setImmediate, never inside the store's callback: the memory store
 * announces inside the mutation, that is inside a request handler where uWS has a socket corked
 * (hub.ts has the measurement). Whoever needs "everything announced is on the topic" calls flush().
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { CallQueueUpdateFrame } from '../../codec/index.js';
import type { CallQueueChange, CallQueueEvent, CallStore } from '../../engine/call-types.js';
import type { Logger } from '../../logger.js';
import { LiveHub, SequencedFeed } from './live-hub.js';


export interface CallQueueRef {
  app: string;
  queueId: string;
}

/** What the hub asks of the sockets following a queue (callqueue-subscription.ts). */
export interface CallQueueFollower {
  /** Called for every change put on the topic while the follower is recovering. */
  capture(change: CallQueueChange): void;
}

export interface CallQueueHubEvents {
  /** The feed of `queue` may have lost changes: its followers need a fresh snapshot. */
  interrupted(queue: HubCallQueue): void;
  /** `change` is now on the topic (followers end their subscription on a revocation or deletion). */
  published(queue: HubCallQueue, change: CallQueueChange): void;
}

export function updateFrame(change: CallQueueChange): CallQueueUpdateFrame {
  return { type: 'callqueue.update', ...change };
}

export class HubCallQueue extends SequencedFeed<CallQueueChange, CallQueueFollower> {
  /** The base is being read again (after a resync): publishing waits for it. */
  rebasing: Promise<void> | null = null;

  constructor(
    readonly ref: CallQueueRef,
    flush: () => void,
  ) {
    super(`${ref.app}/${ref.queueId}`, 'hl/q', flush);
  }

  advance(seq: number): void {
    this.reach(seq);
  }
}

export class CallQueueHub extends LiveHub<HubCallQueue> {
  constructor(
    private readonly store: CallStore,
    app: TemplatedApp,
    logger: Logger,
    private readonly events: CallQueueHubEvents,
  ) {
    super(app, logger, { hub: 'ws call-queue hub', field: 'callQueue' });
  }

  /** The queue's live feed, active (store subscription acknowledged, base read) when this resolves. */
  acquire(ref: CallQueueRef): Promise<HubCallQueue> {
    return this.acquireFeed(
      `${ref.app}/${ref.queueId}`,
      () => {
        const queue: HubCallQueue = new HubCallQueue({ ...ref }, () => this.flush(queue));
        return queue;
      },
      async (queue) => {
        queue.unsubscribe = await this.store.subscribeQueue(ref.app, ref.queueId, (event) => this.onEvent(queue, event));
        queue.advance((await this.store.snapshot(ref.app, ref.queueId)).seq);
      },
    );
  }

  /** Store listeners must not throw; nothing here may unwind into the store (or uWS). */
  private onEvent(queue: HubCallQueue, event: CallQueueEvent): void {
    if (queue.dropped) return;
    try {
      if (event.type === 'resync') {
        // What was announced before the resync goes out first.
        this.flush(queue);
        this.interrupt(queue);
        return;
      }
      queue.pending.push(event.change);
      this.schedule(queue);
    } catch (err) {
      this.logger.error({ err, callQueue: queue.key }, 'ws call-queue hub: live event handling failed');
    }
  }

  /**
   * Changes were lost (or may have been): followers are told, and the topic continues after the
   * seq storage holds now. Announcements made meanwhile wait in `pending`.
   */
  private interrupt(queue: HubCallQueue): void {
    this.events.interrupted(queue);
    if (queue.rebasing !== null) return;
    const rebase = async (): Promise<void> => queue.advance((await this.store.snapshot(queue.ref.app, queue.ref.queueId)).seq);
    queue.rebasing = this.readBaseUntilDone(queue, rebase).finally(() => {
      queue.rebasing = null;
      if (!queue.dropped) this.schedule(queue);
    });
  }

  protected flush(queue: HubCallQueue): void {
    if (queue.pending.length === 0 || queue.rebasing !== null) return;
    const batch = queue.pending;
    queue.pending = [];
    if (queue.dropped) return;
    for (let i = 0; i < batch.length; i++) {
      const change = batch[i]!;
      if (change.seq <= queue.lastSeq) continue; // at or below the base: storage served it
      if (change.seq !== queue.lastSeq + 1) {
        this.logger.warn({ callQueue: queue.key, expected: queue.lastSeq + 1, got: change.seq }, 'ws call-queue hub: gap in the live feed');
        queue.pending = batch.slice(i).concat(queue.pending);
        this.interrupt(queue);
        return;
      }
      this.publish(queue, change);
    }
  }

  private publish(queue: HubCallQueue, change: CallQueueChange): void {
    for (const follower of queue.recovering) follower.capture(change);
    queue.advance(change.seq);
    queue.lastAt = Date.now();
    this.publishFrame(queue.topics, () => updateFrame(change));
    this.events.published(queue, change);
  }
}
