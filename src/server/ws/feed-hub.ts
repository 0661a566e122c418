/**
 * Live fan-out on this node for every kind of feed (src/engine/feed.ts): message partitions
 * (subscription.ts PARTITIONS) and call queues (callqueue-subscription.ts CALL_QUEUES), and next the
 * event log. A kind says how to reach its store and how an entry is framed (FeedKind); everything
 * else is here, once:
 *
 *   - a registry of live feeds, one per followed partition or queue on this node, refcounted by the
 *     sockets following it: the first acquire subscribes to the store and reads the base, the last
 *     release unsubscribes;
 *   - the topic of a feed is a sequence: it carries the feed's entries with seq > the base, each
 *     once, in order. The base is the newest entry stored just after the store subscription became
 *     active (and again after a resync): every later entry is announced to this node, though
 *     possibly after a storage read on another connection already saw it (Redis delivers pub/sub and
 *     command replies on different connections). The seq rules are FeedPosition.judge's: an entry at
 *     or below the topic's last seq is old news and skipped — unless that seq went out as another
 *     entry (a failover renumbered: `reused`), and an entry past last + 1 means announcements were
 *     lost (`gap`). Both, and the store's own `resync`, interrupt the feed: its followers are told
 *     (FeedFollower.interrupted) and, for a gap or a resync, the base is read again while announcements
 *     wait in `pending` (a follower joins only once no rebase is running: follower.ts);
 *   - alongside the topics, the sockets recovering on a feed: each entry put on the topic is also
 *     captured into their buffers, in the same synchronous step (follower.ts);
 *   - the deferred flush: announced entries wait until a setImmediate puts every dirty feed on its
 *     uWS topics, never inside the store's callback: the memory stores announce synchronously inside
 *     the mutation, that is inside a uWS handler where uWS has that socket corked and must write every
 *     other socket's frames one syscall each (7× slower fan-out, measured). Whoever depends on
 *     "everything announced is on the topic" (joining or leaving it, a resync) calls flush() first;
 *   - the publish: a frame encoded once per wire format that has subscribers, handed to uWS with
 *     app.publish(), which writes it to every subscribed socket natively (the reason fan-out is
 *     fast). A kind with batches (message partitions, websocket.md 4.2 `batch`) has a second topic per
 *     feed and format, carrying what each flush published as `messages` frames; a socket follows
 *     exactly one of the two, so they never need ordering against each other.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { encodeServerFrame } from '../../codec/index.js';
import type { ServerFrame, WireFormat } from '../../codec/index.js';
import { entryOf, FeedPosition, type FeedSource, type Unsubscribe } from '../../engine/feed.js';
import type { Logger } from '../../logger.js';
import { metrics } from '../../metrics/registry.js';
import { SeqWaiters } from './seq-waiters.js';

/** How soon a failed read of a feed's base after a resync is tried again. */
const BASE_RETRY_MS = 250;

export const FORMATS: readonly WireFormat[] = ['json', 'msgpack'];

export interface FeedEntry {
  seq: number;
}

/** One kind of feed, as the hub sees it: the store's source of it (engine/feeds.ts) and its frames. */
export interface FeedKind<Ref, E extends FeedEntry, K extends string> {
  readonly source: FeedSource<Ref, K, E>;
  /** Log message prefix (e.g. `ws hub`) and the log field carrying a feed's key (e.g. `partition`). */
  readonly names: { hub: string; field: string };
  /** uWS topic prefix (`hl/m`, `hl/q`); batch topics, when the kind has them, use `batchPrefix`. */
  readonly topicPrefix: string;
  readonly batchPrefix?: string;
  /** The frame of one live entry on the per-entry topics. */
  frame(ref: Ref, entry: E): ServerFrame;
  /** The `messages`-style frames of a run of entries, for the batch topics (only with batchPrefix). */
  batches?(ref: Ref, entries: readonly E[], format: WireFormat): Iterable<string | Uint8Array>;
  /**
   * A filtered kind (the event tail: a feed per application and filter): whether `entry` is sent to
   * this feed's sockets. One that does not match still moves the topic's position (and is captured
   * by recovering sockets, which skip it when writing), so seqs stay contiguous for the gap checks.
   */
  matches?(ref: Ref, entry: E): boolean;
  /** Called with each entry put on the topic while any socket is live on it (delivery metrics). */
  delivered?(entry: E, liveSockets: number): void;
  /** `entry` is now on the topic (followers may end on it: a call queue deleted, a member removed). */
  published?(feed: HubFeed<Ref, E>, entry: E): void;
}

/** What the hub asks of a socket following a feed (follower.ts). */
export interface FeedFollower<E> {
  /** Called for every entry put on the topic while the follower is recovering. */
  capture(entry: E): void;
  /** The feed may have lost entries (store resync, gap, seq reused): catch up again. */
  interrupted(): void;
}

export class HubFeed<Ref, E extends FeedEntry> {
  readonly key: string;
  readonly topics: Readonly<Record<WireFormat, string>>;
  /** Where batch followers listen (kinds with batches only). */
  readonly batchTopics: Readonly<Record<WireFormat, string>> | null;
  /** Sockets holding the feed (acquire minus release). */
  refs = 0;
  /** Released by the last socket, retired or closed: nothing more is published. */
  dropped = false;
  /** Settles once the store subscription is active and the base read; rejects when that failed. */
  ready: Promise<void> = Promise.resolve();
  unsubscribe: Unsubscribe | null = null;
  /** Announced by the store, not yet published (see flush). */
  pending: E[] = [];
  /** The base is being read again (after a resync or gap): publishing waits for it. */
  rebasing: Promise<void> | null = null;
  /** The topic's position: its last seq (or the base) and the seq checks. */
  readonly position = new FeedPosition();
  /** Date.now() of the last publish (heartbeats count live entries as traffic). */
  lastAt = 0;
  /** Every socket following the feed, whatever its state (told when the feed is interrupted). */
  readonly followers = new Set<FeedFollower<E>>();
  /** Sockets catching up: every entry put on the topic is also captured for them, in the same step. */
  readonly recovering = new Set<FeedFollower<E>>();
  /** Sockets on the topic. */
  readonly live = new Set<FeedFollower<E>>();
  private readonly waiters = new SeqWaiters();

  constructor(
    readonly ref: Ref,
    kind: { source: { key(ref: Ref): string }; topicPrefix: string; batchPrefix?: string },
    /** Publishes the pending entries now: captured, put on the topics, lastSeq advanced. */
    readonly flush: () => void,
  ) {
    this.key = kind.source.key(ref);
    this.topics = { json: `${kind.topicPrefix}/${this.key}/json`, msgpack: `${kind.topicPrefix}/${this.key}/msgpack` };
    const b = kind.batchPrefix;
    this.batchTopics = b === undefined ? null : { json: `${b}/${this.key}/json`, msgpack: `${b}/${this.key}/msgpack` };
  }

  /** The last seq on the topic, or the base. */
  get lastSeq(): number {
    return this.position.lastSeq;
  }

  /** The identity of the entry at lastSeq (a message id), when the kind has identities. */
  get lastId(): string | null {
    return this.position.lastId;
  }

  /** Moves the topic up to `seq` and wakes whoever waits for it. */
  advance(seq: number, id: string | null): void {
    if (this.position.advance(seq, id)) this.waiters.reach(seq);
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

export class FeedHub<Ref, E extends FeedEntry, K extends string> {
  private readonly feeds = new Map<string, HubFeed<Ref, E>>();
  private readonly dirty = new Set<HubFeed<Ref, E>>();
  private flushScheduled = false;

  constructor(
    private readonly kind: FeedKind<Ref, E, K>,
    private readonly app: TemplatedApp,
    private readonly logger: Logger,
  ) {}

  /** Feeds with a store subscription on this node. */
  get size(): number {
    return this.feeds.size;
  }

  /**
   * The feed of `ref`, active (store subscription acknowledged, base read) when this resolves: the
   * first caller creates it; a failed start forgets the feed and rejects every caller waiting on it.
   */
  async acquire(ref: Ref): Promise<HubFeed<Ref, E>> {
    const key = this.kind.source.key(ref);
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const created: HubFeed<Ref, E> = new HubFeed(ref, this.kind, () => this.flush(created));
      created.ready = this.start(created).catch((err: unknown) => {
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

  release(feed: HubFeed<Ref, E>): void {
    feed.refs--;
    if (feed.refs > 0 || feed.dropped) return;
    this.retire(feed);
  }

  /**
   * Drops every feed whose key starts with `prefix` (a deleted message queue's partitions,
   * watch.ts), store subscription included, so that a queue created again under the same name, whose
   * seqs may start over, gets fresh state with a fresh base. A socket still being set up on one finds
   * it dropped (the subscribe handler then starts over).
   */
  retireUnder(prefix: string): void {
    for (const [key, feed] of [...this.feeds]) if (key.startsWith(prefix)) this.retire(feed);
  }

  async close(): Promise<void> {
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    for (const feed of feeds) feed.drop();
    await Promise.all(feeds.map((f) => f.ready.then(() => f.unsubscribe?.()).catch(() => undefined)));
  }

  /** Subscribe first, then read the base: everything stored after it is announced. Entries wait meanwhile. */
  private async start(feed: HubFeed<Ref, E>): Promise<void> {
    let based!: () => void;
    feed.rebasing = new Promise<void>((resolve) => (based = resolve));
    try {
      const { source } = this.kind;
      feed.unsubscribe = await source.subscribe(feed.ref, (event) => {
        const entry = entryOf(source.type, event);
        if (entry === null) this.onResync(feed);
        else this.onEntry(feed, entry);
      });
      await this.rebase(feed);
    } finally {
      feed.rebasing = null;
      based();
    }
    if (feed.pending.length > 0) this.schedule(feed);
  }

  /** Drops the feed now, whatever its refs, and unsubscribes from the store once it was active. */
  private retire(feed: HubFeed<Ref, E>): void {
    if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key);
    this.dirty.delete(feed);
    feed.drop();
    void feed.ready
      .then(() => feed.unsubscribe?.())
      .catch((err: unknown) => this.logger.debug({ err, [this.kind.names.field]: feed.key }, `${this.kind.names.hub}: store unsubscribe failed`));
  }

  private async rebase(feed: HubFeed<Ref, E>): Promise<void> {
    const base = await this.kind.source.base(feed.ref);
    feed.advance(base.seq, base.id);
    feed.position.based = true;
  }

  /** Store listeners must not throw; nothing here may unwind into the store (or uWS). */
  private onEntry(feed: HubFeed<Ref, E>, entry: E): void {
    if (feed.dropped) return;
    feed.pending.push(entry);
    this.schedule(feed);
  }

  private onResync(feed: HubFeed<Ref, E>): void {
    if (feed.dropped) return;
    try {
      // What was announced before the resync goes out first.
      this.flush(feed);
      this.interrupt(feed, true);
    } catch (err) {
      this.logger.error({ err, [this.kind.names.field]: feed.key }, `${this.kind.names.hub}: live event handling failed`);
    }
  }

  /**
   * Entries were lost (or may have been): followers are told; with `rebase`, the topic continues
   * after what storage holds now, read again until it reads or the feed is dropped (on Redis the live
   * feed can be back before the command connection is: each reconnects on its own schedule).
   * Announcements made meanwhile wait in `pending`.
   */
  private interrupt(feed: HubFeed<Ref, E>, rebase: boolean): void {
    // The rebase starts first: followers leaving the topic flush it, and nothing may be published
    // (or judged a gap again) before the base is read.
    if (rebase && feed.rebasing === null) this.startRebase(feed);
    for (const follower of [...feed.followers]) follower.interrupted();
  }

  private startRebase(feed: HubFeed<Ref, E>): void {
    const { hub, field } = this.kind.names;
    const run = async (): Promise<void> => {
      for (;;) {
        try {
          await this.rebase(feed);
          return;
        } catch (err) {
          if (feed.dropped) return;
          this.logger.warn({ err, [field]: feed.key }, `${hub}: reading the base after a resync failed, retrying`);
          await new Promise((resolve) => setTimeout(resolve, BASE_RETRY_MS).unref());
          if (feed.dropped) return;
        }
      }
    };
    feed.rebasing = run().finally(() => {
      feed.rebasing = null;
      if (!feed.dropped) this.schedule(feed);
    });
  }

  /** Puts the pending entries on the topics now, by the seq rules (top of this file). */
  private flush(feed: HubFeed<Ref, E>): void {
    if (feed.pending.length === 0 || feed.rebasing !== null) return;
    const batch = feed.pending;
    feed.pending = [];
    if (feed.dropped) return;
    const { hub, field } = this.kind.names;
    // What went on the per-entry topics, for the batch topics; put there before anything that reads
    // the feed's position (an interruption takes sockets off the topics at lastSeq).
    let run: E[] = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      const id = this.kind.source.idOf(entry);
      const verdict = feed.position.judge(entry.seq, id);
      if (verdict === 'old') continue;
      if (verdict === 'reused') {
        // Skipping it would be silent: followers read storage again from their last entry, which is
        // gone, and are told they may have missed something (websocket.md 4.3 recovered:false).
        this.publishBatch(feed, run);
        run = [];
        this.logger.warn({ [field]: feed.key, seq: entry.seq }, `${hub}: a seq reused by another entry, resyncing`);
        this.interrupt(feed, false);
        continue;
      }
      if (verdict === 'gap') {
        // Every change is announced in seq order, so a hole means announcements were lost in
        // transit (e.g. during a failover) without the store noticing: repair as after a resync.
        this.publishBatch(feed, run);
        this.logger.warn({ [field]: feed.key, after: feed.lastSeq, got: entry.seq }, `${hub}: live seq hole, resyncing`);
        feed.pending = batch.slice(i).concat(feed.pending);
        this.interrupt(feed, true);
        return;
      }
      if (this.publish(feed, entry, id)) run.push(entry);
    }
    this.publishBatch(feed, run);
  }

  /**
   * Captures the entry, advances the topic, and puts it on the per-entry topics; true when any
   * socket is live. `id` is the kind's idOf(entry). This runs once per live entry: nothing here is
   * allocated per entry but the frame and its encodings (no closures), and each topic's subscribers
   * are counted once.
   */
  private publish(feed: HubFeed<Ref, E>, entry: E, id: string | null): boolean {
    for (const follower of feed.recovering) follower.capture(entry);
    feed.advance(entry.seq, id);
    feed.lastAt = Date.now();
    if (this.kind.matches !== undefined && !this.kind.matches(feed.ref, entry)) return false;
    const live = feed.live.size;
    if (live > 0) {
      this.kind.delivered?.(entry, live);
      // Built once, and only when some format's topic has subscribers; encoded once per such format.
      let frame: ServerFrame | null = null;
      for (const format of FORMATS) {
        const topic = feed.topics[format];
        const subscribers = this.app.numSubscribers(topic);
        if (subscribers === 0) continue;
        frame ??= this.kind.frame(feed.ref, entry);
        this.send(topic, format, encodeServerFrame(frame, format), subscribers);
      }
    }
    this.kind.published?.(feed, entry);
    return live > 0;
  }

  /** The entries as batch frames on the batch topics, encoded once per format. */
  private publishBatch(feed: HubFeed<Ref, E>, entries: E[]): void {
    if (entries.length === 0 || feed.batchTopics === null || this.kind.batches === undefined) return;
    for (const format of FORMATS) {
      const topic = feed.batchTopics[format];
      // Publishing does not change who is subscribed: counted once for every frame of the run.
      const subscribers = this.app.numSubscribers(topic);
      if (subscribers === 0) continue;
      for (const data of this.kind.batches(feed.ref, entries, format)) this.send(topic, format, data, subscribers);
    }
  }

  /** Publishes `data` on `topic`, which has `subscribers` sockets (uWS writes it to every one of them). */
  private send(topic: string, format: WireFormat, data: string | Uint8Array, subscribers: number): void {
    this.app.publish(topic, data, format === 'msgpack');
    metrics().wsFramesOut.inc(subscribers);
  }

  /** Flushes `feed` from a setImmediate, with every other feed announced in the same turn. */
  private schedule(feed: HubFeed<Ref, E>): void {
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
        this.logger.error({ err, [this.kind.names.field]: feed.key }, `${this.kind.names.hub}: publishing live events failed`);
      }
    }
  }
}
