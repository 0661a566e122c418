/**
 * What the two live hubs share (hub.ts: message partitions; callqueue-hub.ts: call queues):
 *
 *   - a registry of live feeds, one per followed partition or queue on this node, refcounted by
 *     the sockets following it: the first acquire subscribes to the store (and reads the base),
 *     the last release unsubscribes;
 *   - the deferred flush: a feed's announced events wait in the feed until a setImmediate puts
 *     every dirty feed on its uWS topics, never inside the store's callback (hub.ts has the reason
 *     and the measurement);
 *   - the publish: a frame encoded once per wire format that has subscribers, handed to uWS.
 *
 * What a flush does — the sequence rules of each topic — stays in each hub.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerFrame } from '../../codec/index.js';
import type { ServerFrame, WireFormat } from '../../codec/index.js';
import type { Unsubscribe } from '../../engine/types.js';
import type { Logger } from '../../logger.js';
import { metrics } from '../../metrics/registry.js';
import { SeqWaiters } from './seq-waiters.js';

/** How soon a failed read of a feed's base after a resync is tried again. */
const BASE_RETRY_MS = 250;

export interface LiveFeed {
  readonly key: string;
  /** Sockets holding the feed (acquire minus release). */
  refs: number;
  /** Released by the last socket, retired or closed: nothing more is published. */
  dropped: boolean;
  /** Settles once the store subscription is active and the base read; rejects when that failed. */
  ready: Promise<void>;
  unsubscribe: Unsubscribe | null;
  drop(): void;
}

/**
 * A feed whose topic is a sequence (each hub's flush keeps its rules): the state both hubs' feeds
 * carry, and waiting until the topic has reached a seq.
 */
export abstract class SequencedFeed<Event, Follower> implements LiveFeed {
  readonly topics: Readonly<Record<WireFormat, string>>;
  refs = 0;
  dropped = false;
  /** Announced by the store, not yet published (see the hub's flush). */
  pending: Event[] = [];
  ready: Promise<void> = Promise.resolve();
  unsubscribe: Unsubscribe | null = null;
  /** The last seq on the topic, or the base. */
  lastSeq = 0;
  /** Date.now() of the last publish (heartbeats count live events as traffic). */
  lastAt = 0;
  /** Sockets catching up: every event put on the topic is also captured for them, in the same step. */
  readonly recovering = new Set<Follower>();
  private readonly waiters = new SeqWaiters();

  protected constructor(
    readonly key: string,
    topicPrefix: string,
    /** Publishes the pending events now: captured, put on the topics, lastSeq advanced. */
    readonly flush: () => void,
  ) {
    this.topics = { json: `${topicPrefix}/${key}/json`, msgpack: `${topicPrefix}/${key}/msgpack` };
  }

  /** Moves lastSeq up to `seq` and wakes whoever waits for it; false (nothing done) unless higher. */
  protected reach(seq: number): boolean {
    if (seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    this.waiters.reach(seq);
    return true;
  }

  /** Resolves true once lastSeq >= seq; false after `timeoutMs` or when the feed is dropped. */
  reached(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.lastSeq >= seq) return Promise.resolve(true);
    if (this.dropped) return Promise.resolve(false);
    return this.waiters.wait(seq, timeoutMs);
  }

  drop(): void {
    this.dropped = true;
    this.waiters.abandonAll();
  }
}

export interface LiveHubNames {
  /** Log message prefix, e.g. `ws hub`. */
  hub: string;
  /** Log field carrying the feed's key, e.g. `partition`. */
  field: string;
}

export const FORMATS: readonly WireFormat[] = ['json', 'msgpack'];

export abstract class LiveHub<F extends LiveFeed> {
  protected readonly feeds = new Map<string, F>();
  private readonly dirty = new Set<F>();
  private flushScheduled = false;

  protected constructor(
    protected readonly app: TemplatedApp,
    protected readonly logger: Logger,
    private readonly names: LiveHubNames,
  ) {}

  get size(): number {
    return this.feeds.size;
  }

  /** Puts the feed's pending events on its topics now (each hub's own sequence rules). */
  protected abstract flush(feed: F): void;

  /**
   * The feed under `key`, active when this resolves: the first caller creates it and runs `start`
   * (subscribe to the store, read the base); a failed start forgets the feed and rejects every
   * caller waiting on it.
   */
  protected async acquireFeed(key: string, create: () => F, start: (feed: F) => Promise<void>): Promise<F> {
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const created = create();
      created.ready = start(created).catch((err: unknown) => {
        created.drop();
        if (this.feeds.get(key) === created) this.feeds.delete(key);
        void created.unsubscribe?.().catch(() => undefined);
        throw err;
      });
      this.feeds.set(key, created);
      feed = created;
    }
    feed.refs++;
    try {
      await feed.ready;
    } catch (err) {
      feed.refs--;
      throw err;
    }
    return feed;
  }

  release(feed: F): void {
    feed.refs--;
    if (feed.refs > 0 || feed.dropped) return;
    this.retire(feed);
  }

  /** Drops the feed now, whatever its refs, and unsubscribes from the store once it was active. */
  protected retire(feed: F): void {
    if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key);
    this.dirty.delete(feed);
    feed.drop();
    void feed.ready
      .then(() => feed.unsubscribe?.())
      .catch((err: unknown) => this.logger.debug({ err, [this.names.field]: feed.key }, `${this.names.hub}: store unsubscribe failed`));
  }

  async close(): Promise<void> {
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    for (const feed of feeds) feed.drop();
    await Promise.all(feeds.map((f) => f.ready.then(() => f.unsubscribe?.()).catch(() => undefined)));
  }

  /** Publishes `data` on `topic` (uWS writes it to every subscribed socket); false when the topic has none. */
  protected publishOn(topic: string, format: WireFormat, data: () => string | Uint8Array): boolean {
    const subscribers = this.app.numSubscribers(topic);
    if (subscribers === 0) return false;
    this.app.publish(topic, data(), format === 'msgpack');
    metrics().wsFramesOut.inc(subscribers);
    return true;
  }

  /** Publishes the frame on each format's topic that has subscribers, encoded once per format. */
  protected publishFrame(topics: Readonly<Record<WireFormat, string>>, frame: () => ServerFrame): void {
    let built: ServerFrame | null = null;
    for (const format of FORMATS) this.publishOn(topics[format], format, () => encodeServerFrame((built ??= frame()), format));
  }

  /**
   * Reads a feed's base again after a store resync, retried until it reads or the feed is dropped:
   * on Redis the live feed can be back before the command connection is (each reconnects on its
   * own schedule), and a base left behind would hold the feed's sockets off its topic.
   */
  protected async readBaseUntilDone(feed: F, read: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await read();
        return;
      } catch (err) {
        if (feed.dropped) return;
        this.logger.warn({ err, [this.names.field]: feed.key }, `${this.names.hub}: reading the base after a resync failed, retrying`);
        await new Promise((resolve) => setTimeout(resolve, BASE_RETRY_MS).unref());
        if (feed.dropped) return;
      }
    }
  }

  /** Flushes `feed` from a setImmediate, with every other feed announced in the same turn. */
  protected schedule(feed: F): void {
    this.dirty.add(feed);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushAll());
  }

  private flushAll(): void {
    this.flushScheduled = false;
    const feeds = [...this.dirty];
    this.dirty.clear();
    for (const feed of feeds) {
      try {
        this.flush(feed);
      } catch (err) {
        this.logger.error({ err, [this.names.field]: feed.key }, `${this.names.hub}: publishing live events failed`);
      }
    }
  }
}
