/**
 * The live side of every feed (../feed.ts) over Redis 7 sharded pub/sub (SSUBSCRIBE): message
 * partitions, call queues, and whatever feed comes next, each on its own shard channel. One
 * subscriber connection per primary that owns a subscribed channel (one in total for a single
 * server), shared by every kind of feed of the node; each channel is subscribed once however many
 * listeners it has (reference counted). A feed kind says only how its payloads decode (FeedCodec).
 *
 * Guarantees to listeners (src/engine/feed.ts):
 *   - subscribe() resolves only once Redis acknowledged the SSUBSCRIBE, so anything appended after
 *     that is delivered; a listener added to an already live channel is live at once.
 *   - per channel, entries arrive in publish order (one connection per shard, and every script
 *     publishes inside its atomic change).
 *   - when a channel's subscription was interrupted (connection dropped, or its slot moved to another
 *     primary after a failover or resharding) it is subscribed again, and only once that is
 *     acknowledged every listener of the channel receives {type:'resync'}: entries may have been
 *     missed in between, and a history read started after the resync sees all of them. So does a
 *     listener given a payload it cannot decode (never written by our scripts).
 *
 * Besides feed channels, the engine keeps one raw channel (retain()): the metadata change
 * announcements of meta-cache.ts, delivered as bytes, with isLive() telling whether that
 * subscription is intact right now.
 *
 * Why not ioredis Cluster's own `shardedSubscribers`: it resubscribes fire-and-forget after
 * reconnects and reports neither the moment nor the channels, so it cannot tell listeners to resync.
 */
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { HoldlineError } from '../../errors.js';
import { observeRedis } from '../../metrics/registry.js';
import type { FeedEvent, FeedListener, Unsubscribe } from '../feed.js';
import { guarded, toEngineError } from './connection.js';
import { keySlot } from './slot.js';

/** A channel whose payloads are not feed entries (retain()). */
export interface RawListener {
  message(payload: Buffer): void;
  /** The subscription was interrupted and is live again: messages may have been missed. */
  resync(): void;
}

/** A kind of feed: the tag of its entry events and how a channel payload becomes entries (throws when it cannot). */
export interface FeedCodec<K extends string, E> {
  readonly type: K;
  decode(payload: Buffer): E[];
}

interface FeedSubscription {
  readonly codec: FeedCodec<string, unknown>;
  readonly listener: FeedListener<string, unknown>;
  raw?: undefined;
}

type Subscription = FeedSubscription | { raw: RawListener; codec?: undefined };

interface Channel {
  readonly name: string;
  readonly subscriptions: Set<Subscription>;
  /** The node this channel is subscribed on, while that subscription is known to be intact. */
  liveOn: string | undefined;
  /** Serialises subscribe/unsubscribe/resubscribe of this channel. */
  queue: Promise<void>;
  pending: number;
}

interface NodeConnection {
  readonly redis: Redis;
  connecting: Promise<void> | undefined;
}

export interface SubscriberTopology {
  /** The node (host:port; '' for a single server) that owns a channel now; undefined: unknown yet. */
  ownerOf(channel: string): string | undefined;
  /** A new, not yet connected, connection to a node. */
  connect(node: string): Redis;
  /** Asks for a fresh view of the topology (called when a subscriber connection drops). */
  refresh(): void;
}

/** Connection settings of a subscriber, on top of the engine's fail-fast ones (connection.ts). */
const SUBSCRIBER_OPTIONS: RedisOptions = { lazyConnect: true, autoResubscribe: false };
/**
 * A resubscription can fail while the connection stays up (e.g. LOADING while a restarted Redis
 * replays its AOF); no reconnect would follow to retry it, so reconcile() tries again after this.
 */
const RECONCILE_RETRY_MS = 250;

/** A single server: every channel lives on the one node. */
export function singleServerTopology(url: string, options: RedisOptions): SubscriberTopology {
  return {
    ownerOf: () => '',
    connect: () => new Redis(url, { ...options, ...SUBSCRIBER_OPTIONS }),
    refresh: () => undefined,
  };
}

/** Redis Cluster: a channel lives on the primary that owns its slot, per the command client's view. */
export function clusterTopology(cluster: Cluster, options: RedisOptions): SubscriberTopology {
  return {
    ownerOf: (channel) => cluster.slots[keySlot(channel)]?.[0],
    connect: (node) => {
      const colon = node.lastIndexOf(':');
      return new Redis({ ...options, ...SUBSCRIBER_OPTIONS, host: node.slice(0, colon), port: Number(node.slice(colon + 1)) });
    },
    refresh: () => cluster.refreshSlotsCache(),
  };
}

/**
 * A single server reached through a given client (tests, the call store opened on a client): its
 * connections are copies of it. Resubscription is ours (reconcile), so that resync is emitted only
 * once it is acknowledged.
 */
export function clientTopology(client: Redis, options: RedisOptions): SubscriberTopology {
  return {
    ownerOf: () => '',
    connect: () => client.duplicate({ ...options, ...SUBSCRIBER_OPTIONS }),
    refresh: () => undefined,
  };
}

export class FeedSubscriber {
  private readonly channels = new Map<string, Channel>();
  private readonly nodes = new Map<string, NodeConnection>();
  private closed = false;
  private reconcileRetry: NodeJS.Timeout | null = null;

  constructor(
    private readonly topology: SubscriberTopology,
    private readonly logger?: Logger,
  ) {}

  /** For a single server: opens the one connection now, so a bad URL shows at start-up. */
  async start(): Promise<void> {
    const owner = this.topology.ownerOf('');
    if (owner === '') await this.ensureReady(this.node(owner));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconcileRetry !== null) clearTimeout(this.reconcileRetry);
    this.reconcileRetry = null;
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    this.channels.clear();
    await Promise.all(nodes.map((n) => n.redis.quit().catch(() => n.redis.disconnect())));
  }

  /** Follows one feed's channel; resolves once Redis acknowledged the subscription (engine_unavailable when it cannot). */
  subscribe<K extends string, E>(channelName: string, codec: FeedCodec<K, E>, listener: FeedListener<K, E>): Promise<Unsubscribe> {
    return this.add(channelName, { codec, listener: listener as FeedListener<string, unknown> });
  }

  private async add(channelName: string, subscription: Subscription): Promise<Unsubscribe> {
    if (this.closed) throw new HoldlineError('engine_unavailable');
    const channel = this.channel(channelName);
    await this.exclusive(channel, async () => {
      if (channel.liveOn === undefined) await this.ssubscribe(channel);
      channel.subscriptions.add(subscription);
    });
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      await this.exclusive(channel, async () => {
        channel.subscriptions.delete(subscription);
        if (channel.subscriptions.size > 0 || channel.liveOn === undefined) return;
        const node = this.nodes.get(channel.liveOn);
        channel.liveOn = undefined;
        // Best effort: if the connection is down, the subscription died with it.
        await node?.redis.sunsubscribe(channel.name).catch(() => undefined);
      });
    };
  }

  /**
   * Subscribes a raw channel for the engine's lifetime. Resolves true once live; false when that
   * failed for now, in which case it stays registered and is subscribed on the next reconnect or
   * topology refresh (reconcile), as any interrupted channel is.
   */
  async retain(channelName: string, listener: RawListener): Promise<boolean> {
    if (this.closed) return false;
    const channel = this.channel(channelName);
    try {
      await this.exclusive(channel, async () => {
        channel.subscriptions.add({ raw: listener });
        if (channel.liveOn === undefined) await this.ssubscribe(channel);
      });
      return true;
    } catch (err) {
      this.logger?.debug({ err, channel: channelName }, 'redis engine: subscription not live yet, retried on the next reconnect');
      return false;
    }
  }

  /** True while the channel's subscription is intact on the node that owns it now. */
  isLive(channelName: string): boolean {
    const channel = this.channels.get(channelName);
    return channel !== undefined && this.isLiveOnOwner(channel);
  }

  /**
   * Subscribes again every channel that has listeners but is not live on its current owner (after
   * a reconnect or a topology change), then tells its listeners to resync. A failure is retried
   * after RECONCILE_RETRY_MS (and again on the next reconnect or topology refresh).
   */
  reconcile(): void {
    if (this.closed) return;
    for (const channel of this.channels.values()) {
      if (channel.subscriptions.size === 0 || this.isLiveOnOwner(channel)) continue;
      this.exclusive(channel, async () => {
        if (channel.subscriptions.size === 0 || this.isLiveOnOwner(channel)) return;
        if (channel.liveOn !== undefined) {
          // The slot moved: drop the old subscription, or it could deliver a stale duplicate.
          const old = this.nodes.get(channel.liveOn);
          channel.liveOn = undefined;
          await old?.redis.sunsubscribe(channel.name).catch(() => undefined);
        }
        await this.ssubscribe(channel);
        this.emitResync(channel);
      }).catch((err: unknown) => {
        this.logger?.debug({ err, channel: channel.name }, 'redis engine: resubscription failed, retrying');
        this.scheduleReconcile();
      });
    }
    this.pruneNodes();
  }

  private scheduleReconcile(): void {
    if (this.closed || this.reconcileRetry !== null) return;
    this.reconcileRetry = setTimeout(() => {
      this.reconcileRetry = null;
      this.reconcile();
    }, RECONCILE_RETRY_MS);
    this.reconcileRetry.unref();
  }

  /**
   * Closes connections to nodes that neither own nor carry any subscribed channel any more (a
   * primary that failed over or gave its slots away), instead of letting them retry forever.
   */
  private pruneNodes(): void {
    const needed = new Set<string>(['']);
    for (const channel of this.channels.values()) {
      if (channel.liveOn !== undefined) needed.add(channel.liveOn);
      if (channel.subscriptions.size > 0 || channel.pending > 0) {
        const owner = this.topology.ownerOf(channel.name);
        if (owner !== undefined) needed.add(owner);
      }
    }
    for (const [key, node] of this.nodes) {
      if (needed.has(key)) continue;
      this.nodes.delete(key);
      node.redis.disconnect();
    }
  }

  /** Channels with listeners, and how many of them are live (for tests and metrics). */
  stats(): { channels: number; live: number; connections: number } {
    let channels = 0;
    let live = 0;
    for (const c of this.channels.values()) {
      if (c.subscriptions.size === 0) continue;
      channels++;
      if (c.liveOn !== undefined) live++;
    }
    return { channels, live, connections: this.nodes.size };
  }

  private isLiveOnOwner(channel: Channel): boolean {
    return channel.liveOn !== undefined && channel.liveOn === this.topology.ownerOf(channel.name);
  }

  private channel(name: string): Channel {
    let channel = this.channels.get(name);
    if (channel === undefined) {
      channel = { name, subscriptions: new Set(), liveOn: undefined, queue: Promise.resolve(), pending: 0 };
      this.channels.set(name, channel);
    }
    return channel;
  }

  private exclusive(channel: Channel, fn: () => Promise<void>): Promise<void> {
    channel.pending++;
    const run = channel.queue.then(fn);
    channel.queue = run
      .catch(() => undefined)
      .finally(() => {
        channel.pending--;
        if (channel.pending === 0 && channel.subscriptions.size === 0 && channel.liveOn === undefined) {
          if (this.channels.get(channel.name) === channel) this.channels.delete(channel.name);
        }
      });
    return run;
  }

  private async ssubscribe(channel: Channel): Promise<void> {
    const owner = this.topology.ownerOf(channel.name);
    if (owner === undefined) {
      this.topology.refresh();
      throw new HoldlineError('engine_unavailable');
    }
    const node = this.node(owner);
    await this.ensureReady(node);
    try {
      await node.redis.ssubscribe(channel.name);
    } catch (err) {
      // MOVED: the slot changed hands since the topology was last read; the refresh that follows
      // triggers reconcile(), and the caller may retry.
      if (err instanceof Error && err.message.startsWith('MOVED')) {
        this.topology.refresh();
        throw new HoldlineError('engine_unavailable');
      }
      throw toEngineError(err);
    }
    channel.liveOn = owner;
  }

  private node(key: string): NodeConnection {
    const existing = this.nodes.get(key);
    if (existing !== undefined) return existing;
    const redis = observeRedis(this.topology.connect(key), 'holdline-sub');
    const node: NodeConnection = { redis, connecting: undefined };
    this.nodes.set(key, node);
    let connectedOnce = false;
    redis.on('error', (err: Error) => {
      this.logger?.debug({ err, node: key }, 'redis engine: subscriber connection error');
      // An unsolicited reply (e.g. the server's SUNSUBSCRIBE push when a slot moves away) confuses
      // ioredis' reply matching: start over on a fresh connection rather than trust it.
      if (err.message.includes('Command queue state error')) redis.disconnect(true);
    });
    redis.on('close', () => {
      // Whatever was subscribed on this connection is gone; it is subscribed again on 'ready'.
      for (const channel of this.channels.values()) if (channel.liveOn === key) channel.liveOn = undefined;
      if (!this.closed) this.topology.refresh();
    });
    redis.on('ready', () => {
      if (connectedOnce) this.reconcile();
      connectedOnce = true;
    });
    redis.on('smessageBuffer', (channelName: Buffer, payload: Buffer) => {
      const channel = this.channels.get(channelName.toString());
      if (channel !== undefined && channel.liveOn === key) this.deliver(channel, payload);
    });
    return node;
  }

  /** Connects a node's connection if it never was; rejects with engine_unavailable when it cannot. */
  private async ensureReady(node: NodeConnection): Promise<void> {
    const redis = node.redis;
    if (redis.status === 'ready') return;
    if (node.connecting === undefined && redis.status === 'wait') {
      node.connecting = guarded(() => redis.connect()).finally(() => {
        node.connecting = undefined;
      });
    }
    // Otherwise it is reconnecting: fail fast, as every other command does while Redis is away.
    if (node.connecting === undefined) throw new HoldlineError('engine_unavailable');
    await node.connecting;
  }

  private deliver(channel: Channel, payload: Buffer): void {
    for (const subscription of [...channel.subscriptions]) {
      if (subscription.raw !== undefined) {
        this.callRaw(() => subscription.raw.message(payload));
        continue;
      }
      // Each listener decodes its own copy: one cannot alter what another sees.
      let entries: unknown[];
      try {
        entries = subscription.codec.decode(payload);
      } catch (err) {
        // Never written by our scripts; say an entry may be missing rather than drop it silently.
        this.logger?.error({ err, channel: channel.name }, 'redis engine: undecodable live payload');
        this.call(subscription, { type: 'resync' });
        continue;
      }
      const type = subscription.codec.type;
      for (const entry of entries) this.call(subscription, { type, [type]: entry } as FeedEvent<string, unknown>);
    }
  }

  private emitResync(channel: Channel): void {
    for (const subscription of [...channel.subscriptions]) {
      if (subscription.raw !== undefined) this.callRaw(() => subscription.raw.resync());
      else this.call(subscription, { type: 'resync' });
    }
  }

  private callRaw(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger?.warn({ err }, 'redis engine: channel listener threw');
    }
  }

  private call(subscription: FeedSubscription, event: FeedEvent<string, unknown>): void {
    try {
      subscription.listener(event);
    } catch (err) {
      // Listeners must not throw (feed.ts); one that does must not break delivery to the others.
      this.logger?.warn({ err }, 'redis engine: feed listener threw');
    }
  }
}
