/**
 * Live fan-out on this node. One engine subscription per partition that at least one socket here
 * follows (refcounted: the last to leave unsubscribes; live-hub.ts, shared with the call-queue hub). Each live message is encoded once per wire
 * format and handed to uWS with app.publish() on one topic per partition and format, which writes
 * it to every subscribed socket natively (the reason fan-out is fast).
 *
 * The topic is a sequence: it carries the partition's messages with seq > `baseSeq` in order, each
 * once. `lastSeq` is the last seq on it. `baseSeq` is the newest message stored just after the
 * engine subscription became active (and again after an engine resync): every later message is
 * announced to this node, though possibly after a history read on another connection already saw
 * it (Redis delivers pub/sub and command replies on different connections). An announcement at or
 * below `lastSeq` is therefore old news and skipped. A socket joins the topic only when
 * `lastSeq` has reached the last message it was given (subscription.ts), so it gets exactly what
 * follows.
 *
 * Alongside the topics, the hub keeps per partition the sockets recovering on it: each message
 * put on the topic is also captured into their recovery buffers, in the same synchronous step.
 *
 * Subscriptions made with `batch` (websocket.md 4.2) follow a second topic per partition and
 * format: each flush puts the messages it publishes there as `messages` frames (wire.ts
 * encodeBatches), one per partition per flush, encoded once per format. A socket follows exactly
 * one of the two topics of a partition, so the two never need ordering against each other.
 *
 * Messages are published in batches from a setImmediate, never from inside the engine's callback:
 * the memory engine announces synchronously inside append(), that is inside the publisher's uWS
 * message handler, where uWS has that socket corked and must write every other socket's frames one
 * syscall each (7× slower fan-out, measured). Whoever depends on "everything announced is on the
 * topic" (joining or leaving it, a resync) calls flush() first.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../codec/index.js';
import type { WireFormat } from '../../codec/index.js';
import type { MessageFeeds } from '../../domain/queues/feeds.js';
import type { PartitionEvent, PartitionRef, StoredMessage } from '../../engine/types.js';
import type { Logger } from '../../logger.js';
import type { PartitionSubscription } from './subscription.js';
import { observeDelivery } from '../../metrics/registry.js';
import { encodeBatches, messageFrame } from './wire.js';
import { FORMATS, LiveHub, SequencedFeed } from './live-hub.js';

/** How many recent seqs a partition remembers the ids of, to notice a seq reused (reusedSeq). */
const RECENT_IDS = 64;

/** Application and queue names are [A-Za-z0-9_-], so `/` separates them unambiguously. */
export function partitionKey(ref: PartitionRef): string {
  return `${ref.app}/${ref.queue}/${ref.partition}`;
}

export class HubPartition extends SequencedFeed<StoredMessage, PartitionSubscription> {
  /** Where batch subscriptions listen: `messages` frames (see the top of this file). */
  readonly batchTopics: Readonly<Record<WireFormat, string>>;
  /** The last message on the topic (or the base: the newest stored when the feed became active). */
  lastId: string | null = null;
  /** True once the base was read: from then on live seqs must follow lastSeq one by one. */
  based = false;
  readonly live = new Set<PartitionSubscription>();
  /** The ids of the last RECENT_IDS seqs on the topic, by seq % RECENT_IDS (reusedSeq). */
  private readonly recentSeqs: number[] = [];
  private readonly recentIds: string[] = [];

  constructor(
    readonly ref: PartitionRef,
    flush: () => void,
  ) {
    super(partitionKey(ref), 'hl/m', flush);
    this.batchTopics = { json: `hl/b/${this.key}/json`, msgpack: `hl/b/${this.key}/msgpack` };
  }

  advance(seq: number, id: string): void {
    if (seq <= this.lastSeq) return;
    this.lastId = id;
    const slot = seq % RECENT_IDS;
    this.recentSeqs[slot] = seq;
    this.recentIds[slot] = id;
    this.reach(seq);
  }

  /**
   * True when `m` takes a seq the topic already carried with another message: the engine reused
   * it (a Redis failover lost writes already announced, and the promoted replica numbered new
   * ones from where it was). Checked over the last RECENT_IDS seqs only.
   */
  reusedSeq(m: StoredMessage): boolean {
    const slot = m.seq % RECENT_IDS;
    return this.recentSeqs[slot] === m.seq && this.recentIds[slot] !== m.id;
  }
}

export class Hub extends LiveHub<HubPartition> {
  constructor(
    private readonly engine: MessageFeeds,
    app: TemplatedApp,
    logger: Logger,
    /** The engine's live feed of `part` may have lost events (websocket.md 4.3, reason engine). */
    private readonly onResync: (part: HubPartition) => void,
    /** Size bound of a `messages` frame (websocket.md 4.2: max_frame_bytes). */
    private readonly maxBatchBytes: number = DEFAULT_MAX_FRAME_BYTES,
  ) {
    super(app, logger, { hub: 'ws hub', field: 'partition' });
  }

  /** The partition's live feed, active (engine subscription acknowledged, base read) when this resolves. */
  acquire(ref: PartitionRef): Promise<HubPartition> {
    return this.acquireFeed(
      partitionKey(ref),
      () => {
        const part: HubPartition = new HubPartition({ ...ref }, () => this.flush(part));
        return part;
      },
      async (part) => {
        part.unsubscribe = await this.engine.subscribe(part.ref, (event) => this.onEvent(part, event));
        await this.rebase(part);
      },
    );
  }

  /**
   * The queue was deleted (websocket.md 4.4; watch.ts): its partitions' live state goes, engine
   * subscription included, so that a queue created again under the same name, whose seqs may start
   * over, gets fresh state with a fresh base. Call it after ending the subscriptions of the queue;
   * one still being set up finds its partition dropped (the subscribe handler then starts over).
   */
  retireQueue(app: string, queue: string): void {
    const prefix = `${app}/${queue}/`;
    for (const [key, part] of [...this.feeds]) if (key.startsWith(prefix)) this.retire(part);
  }

  /** Moves the base up to the newest stored message: everything after it will be announced. */
  private async rebase(part: HubPartition): Promise<void> {
    const [newest] = await this.engine.read(part.ref, { limit: 1, order: 'descending' });
    if (newest !== undefined) part.advance(newest.seq, newest.id);
    part.based = true;
  }

  /** Engine listeners must not throw; nothing here may unwind into the engine (or uWS). */
  private onEvent(part: HubPartition, event: PartitionEvent): void {
    if (part.dropped) return;
    try {
      if (event.type === 'resync') {
        this.flush(part);
        this.onResync(part);
        // Announcements were lost: the topic continues after what storage holds now.
        void this.readBaseUntilDone(part, () => this.rebase(part));
        return;
      }
      part.pending.push(event.message);
      this.schedule(part);
    } catch (err) {
      this.logger.error({ err, partition: part.key }, 'ws hub: live event handling failed');
    }
  }

  protected flush(part: HubPartition): void {
    if (part.pending.length === 0) return;
    const batch = part.pending;
    part.pending = [];
    if (part.dropped) return;
    // What went on the per-message topics, for the batch topics; put there before anything that
    // reads the partition's position (a resync takes sockets off the topics at lastSeq).
    let run: StoredMessage[] = [];
    for (const message of batch) {
      if (message.seq <= part.lastSeq) {
        // At or below the base: storage serves it — unless that seq went out as another message.
        if (part.reusedSeq(message)) {
          // A failover lost messages already delivered and numbered new ones with their seqs
          // (weak consistency). Skipping them would be silent: resync the partition instead, so its
          // sockets read storage from their last message, which is gone: recovered:false
          // (websocket.md 4.3) tells them they may have missed something.
          this.publishBatch(part, run);
          run = [];
          this.logger.warn({ partition: part.key, seq: message.seq }, 'ws hub: a seq reused by another message, resyncing');
          this.onResync(part);
        }
        continue;
      }
      if (part.based && message.seq > part.lastSeq + 1) {
        // Every append is announced in seq order, so a hole means announcements were lost in transit
        // (e.g. during a failover) without the feed noticing. Repair as after an engine resync: the
        // live sockets replay from their last message out of storage, which has the missing ones.
        this.publishBatch(part, run);
        run = [];
        this.logger.warn({ partition: part.key, after: part.lastSeq, got: message.seq }, 'ws hub: live seq hole, resyncing');
        this.onResync(part);
      }
      if (this.publish(part, message)) run.push(message);
    }
    this.publishBatch(part, run);
  }

  /** Captures the message, advances the topic, and puts it on the per-message topics; true when any socket is live. */
  private publish(part: HubPartition, message: StoredMessage): boolean {
    for (const sub of part.recovering) sub.capture(message);
    part.advance(message.seq, message.id);
    part.lastAt = Date.now();
    if (part.live.size === 0) return false;
    observeDelivery(message.timestampUs, part.live.size);
    this.publishFrame(part.topics, () => messageFrame(part.ref.app, part.ref.queue, message));
    return true;
  }

  /** The messages as `messages` frames on the batch topics, encoded once per format. */
  private publishBatch(part: HubPartition, messages: StoredMessage[]): void {
    if (messages.length === 0) return;
    for (const format of FORMATS) {
      const topic = part.batchTopics[format];
      if (this.app.numSubscribers(topic) === 0) continue;
      for (const { data } of encodeBatches(part.ref, messages, format, this.maxBatchBytes)) this.publishOn(topic, format, () => data);
    }
  }

}
