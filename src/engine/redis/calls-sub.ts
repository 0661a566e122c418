/**
 * Live call-queue changes from Redis, on the engine's subscriber (subscriber.ts): one shard channel
 * per followed queue (SSUBSCRIBE), one connection per primary that owns a followed channel (one in
 * total for a single server), any number of listeners per channel. The call scripts publish inside
 * the change, so messages arrive in seq order.
 *
 * When a channel's subscription is interrupted (its connection dropped, or its slot moved to another
 * primary after a failover or resharding), changes published meanwhile are lost to us: the channel
 * is subscribed again where it lives now and, once that is acknowledged, every listener gets
 * `resync` (it then resumes with changesSince from its last seq, or takes a snapshot).
 */
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { CallQueueEvent, CallQueueListener } from '../call-types.js';
import type { Unsubscribe } from '../types.js';
import { parseChange } from './calls-codec.js';
import { clusterTopology, LiveSubscriber, singleServerTopology, type SubscriberTopology } from './subscriber.js';

/** Where the subscriber connections go: the store's URL, its cluster, or a copy of a given client. */
export type CallSubscriberSource = { url: string } | { cluster: Cluster } | { client: Redis };

function topology(source: CallSubscriberSource, options: RedisOptions): SubscriberTopology {
  if ('url' in source) return singleServerTopology(source.url, options);
  if ('cluster' in source) return clusterTopology(source.cluster, options);
  const client = source.client;
  return {
    ownerOf: () => '',
    // Resubscription is ours (reconcile), so that resync is emitted only once it is acknowledged.
    connect: () => client.duplicate({ ...options, lazyConnect: true, autoResubscribe: false }),
    refresh: () => undefined,
  };
}

export class CallQueueSubscriber {
  private readonly live: LiveSubscriber;
  private started: Promise<void> | undefined;

  constructor(source: CallSubscriberSource, options: RedisOptions, logger?: Logger) {
    this.live = new LiveSubscriber(topology(source, options), logger);
    // A failover or slot move seen by the command client: channels follow their slot's new owner.
    if ('cluster' in source) source.cluster.on('refresh', () => this.live.reconcile());
  }

  /** Resolves once Redis acknowledged the subscription; rejects with engine_unavailable when it cannot. */
  async subscribe(channel: string, listener: CallQueueListener): Promise<Unsubscribe> {
    this.started ??= this.live.start().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    await this.started;
    return this.live.subscribeRaw(channel, {
      message: (payload) => listener(decode(payload)),
      resync: () => listener({ type: 'resync' }),
    });
  }

  /** Channels followed and how many are live now (tests). */
  stats(): { channels: number; live: number; connections: number } {
    return this.live.stats();
  }

  close(): Promise<void> {
    return this.live.close();
  }
}

function decode(payload: Buffer): CallQueueEvent {
  try {
    return { type: 'change', change: parseChange(payload.toString('utf8')) };
  } catch {
    // Unreadable (never written by our scripts): say a change may be missing rather than throw
    // inside ioredis' event handler.
    return { type: 'resync' };
  }
}
