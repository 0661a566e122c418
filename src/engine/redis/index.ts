/**
 * The `redis` engine (SPEC.md section 1): the production engine. Several Holdline nodes share one
 * Redis server or one Redis Cluster; every partition lives in one slot (keys.ts), every mutation of
 * a partition is one Lua script (lua/), the append publishes on the partition's shard channel in the
 * same script, and each node fans out from its own sharded subscription (subscriber.ts).
 *
 * Where the rules live:
 *   key layout and hash tags ....... keys.ts          message record format ..... record.ts
 *   expiry index and its bound ..... sweeper.ts       consistency policy ........ replicas.ts
 *   fail-fast connections .......... connection.ts    live fan-out and resync ... subscriber.ts
 *
 * Clock: ids, timestamps and expiries come from the Redis server's clock (TIME inside the scripts),
 * one clock per partition whichever node appends.
 */
import { randomInt } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeMessageId } from '../../domain/ids.js';
import { HoldlineError } from '../../errors.js';
import type {
  AppRecord,
  Engine,
  EngineCapabilities,
  ListQueuesOptions,
  MessagePatch,
  NewMessage,
  PartitionListener,
  PartitionRef,
  QueueMeta,
  ReadOptions,
  StoredMessage,
  Unsubscribe,
} from '../types.js';
import { Catalog, defineCatalogScripts } from './catalog.js';
import { baseOptions, createCommandClient, guarded, parseRedisUrl, toEngineError, type RedisTarget } from './connection.js';
import { RedisKeys } from './keys.js';
import {
  appendArgs,
  appendCall,
  countLive,
  definePartitionScripts,
  deleteRecords,
  getRecord,
  parseAppendReply,
  readRecords,
  updateRecord,
} from './partition-scripts.js';
import { decodeRecord } from './record.js';
import { ReplicaMonitor } from './replicas.js';
import { ExpirySweeper } from './sweeper.js';
import { clusterTopology, LiveSubscriber, singleServerTopology } from './subscriber.js';

export interface RedisEngineOptions {
  /** redis://host:port[/db] or redis+cluster://host:port,host:port (connection.ts). */
  url: string;
  /** Key prefix: several deployments (or test cases) can share one Redis. */
  prefix: string;
  /** How often expired messages are reclaimed, ms (default 1000; the bound is in sweeper.ts). */
  sweepIntervalMs?: number;
  /** How long an append at strong/very_strong waits for replicas, ms (default 1000). */
  waitTimeoutMs?: number;
  /** How often the replica count of each primary is refreshed, ms (default 5000). */
  replicaRefreshMs?: number;
  logger?: Logger;
}

const READY_TIMEOUT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HoldlineError('engine_unavailable')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class RedisEngine implements Engine {
  readonly kind = 'redis' as const;

  private readonly target: RedisTarget;
  private readonly keys: RedisKeys;
  private readonly client: Redis | Cluster;
  /** Appends that must WAIT for replicas run here, so a blocked WAIT never delays other traffic. */
  private readonly confirmClient: Redis | Cluster;
  private readonly catalog: Catalog;
  private readonly sweeper: ExpirySweeper;
  private readonly replicas: ReplicaMonitor;
  private readonly subscriber: LiveSubscriber;
  private readonly waitTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';
  private confirmConnected: Promise<void> | undefined;

  constructor(opts: RedisEngineOptions) {
    this.target = parseRedisUrl(opts.url);
    this.keys = new RedisKeys(opts.prefix);
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 1000;
    this.logger = opts.logger;
    const tuning = { commandTimeoutMs: Math.max(5000, this.waitTimeoutMs + 2000) };
    this.client = createCommandClient(this.target, tuning, 'holdline');
    this.confirmClient = createCommandClient(this.target, tuning, 'holdline-confirm');
    for (const c of [this.client, this.confirmClient]) {
      c.on('error', (err: unknown) => this.logger?.debug({ err }, 'redis engine: connection error'));
      definePartitionScripts(c);
    }
    defineCatalogScripts(this.client);
    this.catalog = new Catalog(this.client, this.keys);
    this.sweeper = new ExpirySweeper(this.client, this.keys, opts.sweepIntervalMs ?? 1000, this.logger);
    this.replicas = new ReplicaMonitor(this.client, this.target.cluster, opts.replicaRefreshMs ?? 5000, this.logger);
    const subscriberOptions = baseOptions(tuning, 'holdline-sub');
    this.subscriber = new LiveSubscriber(
      this.target.cluster ? clusterTopology(this.client as Cluster, subscriberOptions) : singleServerTopology(this.target.url, subscriberOptions),
      this.logger,
    );
    if (this.target.cluster) this.client.on('refresh', () => this.subscriber.reconcile());
  }

  get capabilities(): EngineCapabilities {
    const enforced = this.replicas.enforceable;
    return { persistence: true, multiNode: true, consistency: { weak: true, strong: enforced, very_strong: enforced } };
  }

  /** Connects (rejects with engine_unavailable when Redis cannot be reached) and starts the timers. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    try {
      await guarded(() => this.client.connect());
      await this.subscriber.start();
    } catch (err) {
      await this.close();
      throw toEngineError(err);
    }
    this.state = 'started';
    await this.replicas.start();
    this.sweeper.start();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.replicas.stop();
    await this.sweeper.stop();
    await this.subscriber.close();
    await Promise.all(
      [this.client, this.confirmClient].map((c) => (c.status === 'wait' ? c.disconnect() : c.quit().then(() => undefined, () => c.disconnect()))),
    );
  }

  async ready(): Promise<boolean> {
    if (this.state !== 'started') return false;
    try {
      return (await withTimeout(this.client.ping(), READY_TIMEOUT_MS)) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Reclaims what is due now (the timer does this every sweepIntervalMs); for tests and tools. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  // --- applications and keys ---

  createApp(name: string): Promise<{ app: AppRecord; key: string } | null> {
    return guarded(() => this.catalog.createApp(name));
  }

  getApp(name: string): Promise<AppRecord | null> {
    return guarded(() => this.catalog.getApp(name));
  }

  listApps(): Promise<AppRecord[]> {
    return guarded(() => this.catalog.listApps());
  }

  async deleteApp(name: string): Promise<boolean> {
    return guarded(async () => {
      if ((await this.catalog.getApp(name)) === null) return false;
      for (const queue of await this.catalog.allQueues(name)) await this.dropPartitions(queue);
      return this.catalog.deleteAppMeta(name);
    });
  }

  appForKey(key: string): Promise<string | null> {
    return guarded(() => this.catalog.appForKey(key));
  }

  // --- message queues ---

  createQueue(meta: QueueMeta): Promise<boolean> {
    return guarded(() => this.catalog.createQueue(meta));
  }

  getQueue(app: string, name: string): Promise<QueueMeta | null> {
    return guarded(() => this.catalog.getQueue(app, name));
  }

  updateQueue(meta: QueueMeta): Promise<void> {
    return guarded(() => this.catalog.updateQueue(meta));
  }

  deleteQueue(app: string, name: string): Promise<boolean> {
    return guarded(async () => {
      const meta = await this.catalog.getQueue(app, name);
      if (meta === null) return false;
      // Catalogue first: from here on, appends to this queue are refused.
      if (!(await this.catalog.deleteQueueMeta(app, name))) return false;
      await this.dropPartitions(meta);
      return true;
    });
  }

  listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]> {
    return guarded(() => this.catalog.listQueues(app, opts));
  }

  // --- messages ---

  async append(queue: QueueMeta, messages: NewMessage[]): Promise<StoredMessage[]> {
    if (messages.length === 0) return [];
    return guarded(async () => {
      // A queue deleted between the domain's check and now: storing would leave orphan partitions.
      if (!(await this.catalog.queueExists(queue.application, queue.name))) throw new HoldlineError('queue_not_found');
      const byPartition = new Map<number, number[]>();
      messages.forEach((m, i) => {
        const list = byPartition.get(m.partition);
        if (list === undefined) byPartition.set(m.partition, [i]);
        else list.push(i);
      });
      const out: StoredMessage[] = new Array<StoredMessage>(messages.length);
      // Partitions are independent shards: their appends run concurrently, each atomic on its own.
      const results = await Promise.allSettled(
        [...byPartition].map(async ([partition, indexes]) => {
          const ref: PartitionRef = { app: queue.application, queue: queue.name, partition };
          const batch = indexes.map((i) => messages[i]!);
          const stored = await this.appendToPartition(queue, ref, batch);
          indexes.forEach((i, j) => (out[i] = stored[j]!));
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return out;
    });
  }

  read(ref: PartitionRef, opts: ReadOptions): Promise<StoredMessage[]> {
    return guarded(async () => (await readRecords(this.client, this.keys.partition(ref), opts)).map(decodeRecord));
  }

  getMessage(ref: PartitionRef, id: string): Promise<StoredMessage | null> {
    return guarded(async () => {
      const record = await getRecord(this.client, this.keys.partition(ref), id);
      return record === null ? null : decodeRecord(record);
    });
  }

  updateMessage(ref: PartitionRef, id: string, patch: MessagePatch): Promise<StoredMessage | null> {
    return guarded(async () => {
      const record = await updateRecord(this.client, this.keys.partition(ref), id, patch);
      if (record === null) return null;
      const message = decodeRecord(record);
      // A shorter ttl may now be the partition's earliest expiry.
      if (patch.ttl !== undefined) await this.noteExpiry(ref, message.expiresAtMs);
      return message;
    });
  }

  deleteMessages(ref: PartitionRef, ids: string[]): Promise<number> {
    return guarded(() => deleteRecords(this.client, this.keys.partition(ref), ids));
  }

  count(ref: PartitionRef): Promise<number> {
    return guarded(() => countLive(this.client, this.keys.partition(ref)));
  }

  // --- fan-out ---

  subscribe(ref: PartitionRef, listener: PartitionListener): Promise<Unsubscribe> {
    if (this.state !== 'started') return Promise.reject(new HoldlineError('engine_unavailable'));
    return this.subscriber.subscribe(this.keys.partition(ref).channel, listener);
  }

  // --- internals ---

  /** One script call (store + announce), then the expiry index, then WAIT when the level needs it. */
  private async appendToPartition(queue: QueueMeta, ref: PartitionRef, batch: NewMessage[]): Promise<StoredMessage[]> {
    const k = this.keys.partition(ref);
    const call = appendArgs(k, ref.partition, batch, () => randomInt(0x10000));
    const required = this.replicas.required(queue.consistency, k.ids);
    let reply: unknown;
    if (required === 0) {
      reply = await appendCall(this.client, call);
    } else {
      await this.connectConfirmClient();
      // Script and WAIT in one pipeline: both go to the partition's primary on one connection, and
      // WAIT covers every write that connection made before it.
      const pipeline = this.confirmClient.pipeline();
      void appendCall(pipeline, call);
      pipeline.wait(required, this.waitTimeoutMs);
      const results = (await pipeline.exec()) ?? [];
      const [appendResult, waitResult] = results;
      if (appendResult === undefined || appendResult[0] !== null) throw appendResult?.[0] ?? new Error('append: no reply');
      reply = appendResult[1];
      const acked = waitResult !== undefined && waitResult[0] === null ? Number(waitResult[1]) : 0;
      if (acked < required) {
        this.logger?.warn({ partition: ref, required, acked }, 'redis engine: write not confirmed by enough replicas');
        // The expiry index must still learn about the stored messages.
        await this.noteStored(ref, parseAppendReply(reply));
        throw new HoldlineError('not_confirmed');
      }
    }
    const stored = parseAppendReply(reply);
    await this.noteStored(ref, stored);
    return stored.map(({ id, expiresAtMs }, j) => {
      const input = batch[j]!;
      const parts = decodeMessageId(id);
      const message: StoredMessage = {
        id,
        partition: ref.partition,
        seq: parts.seq,
        timestampUs: parts.timestampUs,
        body: typeof input.body === 'string' ? input.body : new Uint8Array(input.body),
        ttl: input.ttl,
        expiresAtMs,
      };
      if (input.contentType !== undefined) message.contentType = input.contentType;
      if (input.inReplyTo !== undefined) message.inReplyTo = input.inReplyTo;
      return message;
    });
  }

  private async noteStored(ref: PartitionRef, stored: { expiresAtMs: number }[]): Promise<void> {
    let earliest = Infinity;
    for (const s of stored) earliest = Math.min(earliest, s.expiresAtMs);
    if (earliest !== Infinity) await this.noteExpiry(ref, earliest);
  }

  /**
   * The message is stored whatever happens here; failing to index it would only delay its
   * reclamation (until the partition's next append), so the append is not failed for it.
   */
  private async noteExpiry(ref: PartitionRef, earliestMs: number): Promise<void> {
    await this.sweeper.noteExpiry(ref, earliestMs).catch((err: unknown) => {
      this.logger?.warn({ err, partition: ref }, 'redis engine: expiry index update failed; reclaimed after the next append');
    });
  }

  private async connectConfirmClient(): Promise<void> {
    const c = this.confirmClient;
    if (c.status === 'ready') return;
    if (c.status === 'wait') {
      this.confirmConnected ??= c.connect().finally(() => {
        this.confirmConnected = undefined;
      });
    }
    // Otherwise it is reconnecting: fail fast, as every command does while Redis is away.
    if (this.confirmConnected === undefined) throw new HoldlineError('engine_unavailable');
    await this.confirmConnected;
  }

  /** Deletes every partition's data (same-slot DEL per partition) and its expiry index entries. */
  private async dropPartitions(meta: QueueMeta): Promise<void> {
    const refs: PartitionRef[] = [];
    for (let p = 1; p <= meta.partitions; p++) refs.push({ app: meta.application, queue: meta.name, partition: p });
    await Promise.all(
      refs.map((ref) => {
        const k = this.keys.partition(ref);
        return this.client.del(k.ids, k.msg, k.exp, k.state);
      }),
    );
    await this.sweeper.forget(refs);
  }
}
