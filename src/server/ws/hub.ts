/**
 * Live fan-out on this node. One engine subscription per partition that at least one socket here
 * follows (refcounted: the last to leave unsubscribes). Each live message is encoded once per wire
 * format and handed to uWS with app.publish() on one topic per partition and format, which writes
 * it to every subscribed socket natively (the reason fan-out is fast).
 *
 * Alongside the topics, the hub keeps per partition:
 *   - the sockets recovering on it (subscription.ts): each live message is also captured into their
 *     recovery buffers, in the same synchronous step as the publish, so a socket that joins the
 *     topic right after flushing its buffer can neither miss nor repeat a message;
 *   - the id and seq of the last message published: the point a socket that leaves the topic
 *     (lagging, engine resync) resumes from. uWS never skips a subscriber below maxBackpressure
 *     (it drops the whole socket instead), so everything up to that message is in its buffer.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerFrame } from '../../codec/index.js';
import type { WireFormat } from '../../codec/index.js';
import type { Engine, PartitionEvent, PartitionRef, StoredMessage, Unsubscribe } from '../../engine/types.js';
import type { Logger } from '../../logger.js';
import type { PartitionSubscription } from './subscription.js';
import { messageFrame } from './wire.js';

const FORMATS: readonly WireFormat[] = ['json', 'msgpack'];

/** Application and queue names are [A-Za-z0-9_-], so `/` separates them unambiguously. */
export function partitionKey(ref: PartitionRef): string {
  return `${ref.app}/${ref.queue}/${ref.partition}`;
}

export class HubPartition {
  readonly key: string;
  readonly topics: Readonly<Record<WireFormat, string>>;
  refs = 0;
  dropped = false;
  ready: Promise<void> = Promise.resolve();
  unsubscribe: Unsubscribe | null = null;
  lastId: string | null = null;
  lastSeq = 0;
  /** Date.now() of the last publish (heartbeats count live messages as traffic). */
  lastAt = 0;
  readonly recovering = new Set<PartitionSubscription>();
  readonly live = new Set<PartitionSubscription>();

  constructor(readonly ref: PartitionRef) {
    this.key = partitionKey(ref);
    this.topics = { json: `hl/m/${this.key}/json`, msgpack: `hl/m/${this.key}/msgpack` };
  }
}

export class Hub {
  private readonly partitions = new Map<string, HubPartition>();

  constructor(
    private readonly engine: Engine,
    private readonly app: TemplatedApp,
    private readonly logger: Logger,
    /** The engine's live feed of `part` may have lost events (websocket.md 4.3, reason engine). */
    private readonly onResync: (part: HubPartition) => void,
  ) {}

  get size(): number {
    return this.partitions.size;
  }

  /** The partition's live feed, active (engine subscription acknowledged) when this resolves. */
  async acquire(ref: PartitionRef): Promise<HubPartition> {
    const key = partitionKey(ref);
    let part = this.partitions.get(key);
    if (part === undefined) {
      const created = new HubPartition({ ...ref });
      created.ready = this.engine.subscribe(created.ref, (event) => this.onEvent(created, event)).then(
        (unsubscribe) => {
          created.unsubscribe = unsubscribe;
        },
        (err: unknown) => {
          created.dropped = true;
          if (this.partitions.get(key) === created) this.partitions.delete(key);
          throw err;
        },
      );
      this.partitions.set(key, created);
      part = created;
    }
    part.refs++;
    try {
      await part.ready;
    } catch (err) {
      part.refs--;
      throw err;
    }
    return part;
  }

  release(part: HubPartition): void {
    part.refs--;
    if (part.refs > 0 || part.dropped) return;
    part.dropped = true;
    if (this.partitions.get(part.key) === part) this.partitions.delete(part.key);
    void part.ready
      .then(() => part.unsubscribe?.())
      .catch((err: unknown) => this.logger.debug({ err, partition: part.key }, 'ws hub: engine unsubscribe failed'));
  }

  async close(): Promise<void> {
    const parts = [...this.partitions.values()];
    this.partitions.clear();
    for (const part of parts) part.dropped = true;
    await Promise.all(parts.map((p) => p.ready.then(() => p.unsubscribe?.()).catch(() => undefined)));
  }

  /** Engine listeners must not throw; nothing here may unwind into the engine (or uWS). */
  private onEvent(part: HubPartition, event: PartitionEvent): void {
    if (part.dropped) return;
    try {
      if (event.type === 'resync') this.onResync(part);
      else this.publish(part, event.message);
    } catch (err) {
      this.logger.error({ err, partition: part.key }, 'ws hub: live event handling failed');
    }
  }

  private publish(part: HubPartition, message: StoredMessage): void {
    for (const sub of part.recovering) sub.capture(message);
    part.lastId = message.id;
    part.lastSeq = message.seq;
    part.lastAt = Date.now();
    if (part.live.size === 0) return;
    const frame = messageFrame(part.ref.app, part.ref.queue, message);
    for (const format of FORMATS) {
      const topic = part.topics[format];
      if (this.app.numSubscribers(topic) === 0) continue;
      this.app.publish(topic, encodeServerFrame(frame, format), format === 'msgpack');
    }
  }
}
