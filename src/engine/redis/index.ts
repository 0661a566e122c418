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
 *
 * Round trips on the hot paths (each documented where its rule lives):
 *   key -> application, queue metadata ... 0 when cached (meta-cache.ts: invalidation, staleness bound)
 *   append ............................... 1 script call per partition, shared by the concurrent
 *                                          appends to it (appender.ts); queue existence is checked
 *                                          inside it (the partition's marker, keys.ts); the expiry
 *                                          index only when the partition's earliest expiry went
 *                                          down (sweeper.ts); + WAIT in the same pipeline at strong
 *                                          and very_strong (replicas.ts)
 *   read ................................. 1 script call per partition (read.lua: the ids) + 1 HMGET
 *                                          (the records); once more, in one step, if a record went
 *                                          in between (partition-scripts.ts readRecords); on a
 *                                          partition this node follows, 1 tiny call (partition-probe.lua)
 *                                          when its in-process tail holds the range (tail-cache.ts)
 * On a single server the command connection auto-pipelines (connection.ts), so concurrent
 * requests share writes; append calls are batched by the appender instead (every partition ready
 * in a turn, written in one corked write) and history reads go at once.
 */
import { randomIdPart } from '../ids.js';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HoldlineError } from '../../errors.js';
import { appendFields } from '../../message-fields.js';
import { KeyExpiryAlarms, KeyHashes } from '../app-keys.js';
import type {
  AppKeyRecord,
  AppRecord,
  Engine,
  EngineCapabilities,
  ListQueuesOptions,
  MessagePatch,
  MetaEvent,
  MetaListener,
  NewAppKey,
  NewMessage,
  PartitionListener,
  PartitionRef,
  QueueMeta,
  ReadOptions,
  StateChange,
  StateChangeResult,
  StoredMessage,
  Unsubscribe,
} from '../types.js';
import { Appender, type AppendJob } from './appender.js';
import { Catalog, defineCatalogScripts, type QueueRecord } from './catalog.js';
import { baseOptions, connectReporting, createCommandClient, guarded, isRedirection, parseRedisUrl, toEngineError, type RedisTarget } from './connection.js';
import { RedisKeys, type PartitionKeys } from './keys.js';
import { MetaCache, encodeChange, type MetaChange } from './meta-cache.js';
import {
  appendArgs,
  appendCall,
  countLive,
  definePartitionScripts,
  deleteRecords,
  dropPartition,
  getRecord,
  markPartition,
  parseAppendReply,
  parseMarker,
  probePartition,
  readFiltered,
  readRecords,
  readTail,
  updateRecord,
  type AppendCall,
  type AppendReply,
  type StoredEntry,
} from './partition-scripts.js';
import { decodePayload, decodeRecord, RecordCache } from './record.js';
import { ReplicaMonitor } from './replicas.js';
import { disableEventRecording } from './scripts.js';
import { ExpirySweeper } from './sweeper.js';
import { RedisEventLog } from './events.js';
import type { EventRetention } from '../events.js';
import { TailCache, type TailStore } from './tail-cache.js';
import { partitionKey } from '../feeds.js';
import { metrics } from '../../metrics/registry.js';
import { clusterTopology, FeedSubscriber, singleServerTopology, type FeedCodec } from './subscriber.js';

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
  /** How often the expiry index entry of a partition is re-asserted by appends that need none, ms (sweeper.ts; default 1000). */
  indexReassertMs?: number;
  /** Longest a cached key or queue lookup is trusted without an announcement, ms (meta-cache.ts; 0: no cache). */
  metaCacheTtlMs?: number;
  /**
   * How long, once the registry's announcement channel is down, keys and queues already known keep
   * answering from the cache, ms (meta-cache.ts "Registry outage"; default 30000; 0: not at all).
   */
  registryOutageMs?: number;
  /** Event retention (config.ts eventRetentionSeconds, eventMaxPerApp); defaults in events.ts. */
  eventRetention?: Partial<EventRetention>;
  /** false: changes record no event (config.ts `events`; scripts.ts disableEventRecording). Default true. */
  recordEvents?: boolean;
  /** How often the event sweep relays leftovers and applies retention, ms (default: sweepIntervalMs). */
  eventSweepIntervalMs?: number;
  /**
   * Bytes (estimated) of the in-process tails of followed partitions, from which history reads are
   * answered when they can be (tail-cache.ts; default 64 MiB; 0: every read goes to Redis).
   */
  historyCacheBytes?: number;
  /**
   * Messages appended through this engine and not answered yet, beyond which an append is refused
   * at once (config.ts maxPendingMessages; default DEFAULT_MAX_PENDING_MESSAGES).
   */
  maxPendingMessages?: number;
  logger?: Logger;
}

const READY_TIMEOUT_MS = 1000;
/** historyCacheBytes when not given. */
export const DEFAULT_HISTORY_CACHE_BYTES = 64 * 1024 * 1024;
/** maxPendingMessages when not given (config.ts has the same default). */
export const DEFAULT_MAX_PENDING_MESSAGES = 100_000;
/** read.lua's command name (partition-scripts.ts). */
const READ_SCRIPT = 'hlRead';
/** The command that fetches the records read.lua picked (partition-scripts.ts readRecords). */
const READ_RECORDS = 'hmget';
/** Applications, queues per application, and key hashes remembered (partitionKeys, keyHash); all are forgotten when full. */
const KNOWN_KEYS_MAX = 10_000;
/** append.lua's command name (partition-scripts.ts). */
const APPEND_SCRIPT = 'hlAppend';
/**
 * How long a deleted partition's tombstone lives (partition-drop.lua): longer than any caller can
 * take between reading the catalogue and marking a partition (command timeouts are seconds).
 */
const TOMBSTONE_MS = 60 * 60 * 1000;

/** A copy, so a caller changing what it got cannot change the cached value. */
function copyMeta(meta: QueueMeta | null): QueueMeta | null {
  return meta === null ? null : { ...meta, principles: [...meta.principles] };
}


/** ioredis's rejection of a command Redis did not answer within commandTimeout (connection.ts). */
function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}

/** Appends refused unsent because the call ahead of them on their partition timed out (appender.ts). */
const WAITING_REFUSED = 'The storage engine is not answering: the write before this one on its partition timed out, this one was not sent';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HoldlineError('engine_unavailable')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A partition's feed: its channel carries append.lua's records (record.ts). */
const PARTITION_FEED: FeedCodec<'message', StoredMessage> = { type: 'message', decode: decodePayload };

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
  private readonly subscriber: FeedSubscriber;
  private readonly cache: MetaCache<QueueRecord>;
  private readonly appender: Appender;
  /**
   * The event log: outboxes, relay, retention, reads (events.ts). The call store sharing this
   * engine relays through it too (calls-factory.ts).
   */
  readonly events: RedisEventLog;
  /** Tails of the partitions this node follows, answering history reads (tail-cache.ts). */
  private readonly tails: TailCache;
  private readonly tailStats = (): { bytes: number; messages: number; partitions: number } => this.tails.stats();

  /** The history tails' totals, reads answered from them (hits) and not (misses): for tests and metrics. */
  historyCacheStats(): ReturnType<TailCache['stats']> {
    return this.tails.stats();
  }
  /** Decoded history records kept between reads (record.ts). */
  private readonly records = new RecordCache();
  /** The command connection is corked until the end of the current tick (corkForTick). */
  private corked = false;
  private readonly metaListeners = new Set<MetaListener>();
  private readonly keyAlarms = new KeyExpiryAlarms((event) => this.emitEvent(event));
  private readonly knownKeys = new Map<string, Map<string, PartitionKeys[]>>();
  /** hashKey(key) of recently presented keys (app-keys.ts KeyHashes). */
  private readonly keyHashes = new KeyHashes();
  private readonly waitTimeoutMs: number;
  /**
   * Messages handed to the appender and not answered yet (stored, refused or failed). While Redis
   * does not answer (frozen, its host hung) they wait in this process: each partition's appends
   * queue behind its call in flight, which waits out the command timeout. Beyond
   * maxPendingMessages an append is refused before any of it is sent (README "When something
   * fails"), so that memory, and how long the waiting appends take to be answered, stay bounded.
   */
  private pendingMessages = 0;
  private readonly maxPendingMessages: number;
  private readonly logger: Logger | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';
  private confirmConnected: Promise<void> | undefined;

  constructor(opts: RedisEngineOptions) {
    this.target = parseRedisUrl(opts.url);
    this.keys = new RedisKeys(opts.prefix);
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 1000;
    this.maxPendingMessages = opts.maxPendingMessages ?? DEFAULT_MAX_PENDING_MESSAGES;
    this.logger = opts.logger;
    const tuning = { commandTimeoutMs: Math.max(5000, this.waitTimeoutMs + 2000) };
    // Auto-pipelined on a single server, except history reads (read.lua picks the ids, HMGET
    // fetches the records): their large replies are better decoded while Redis already runs the
    // next command than after a whole batch (connection.ts).
    // Not on a cluster: ioredis follows a MOVED or ASK inside a batch only when every command of
    // the batch got the same one, so during a failover or resharding a batch mixing partitions
    // would hand redirections to callers instead of following them. Appends to a partition are
    // still combined there (appender.ts), which is most of the gain.
    const autoPipelining = !this.target.cluster;
    // Appends are combined per partition and corked per turn by appender.ts already (batchWrites):
    // batched again here, a turn's calls would wait for the previous turn's to be answered.
    this.client = createCommandClient(this.target, { ...tuning, autoPipelining, autoPipeliningExcept: [READ_SCRIPT, READ_RECORDS, APPEND_SCRIPT] }, 'holdline');
    this.confirmClient = createCommandClient(this.target, tuning, 'holdline-confirm');
    for (const c of [this.client, this.confirmClient]) {
      if (opts.recordEvents === false) disableEventRecording(c);
      c.on('error', (err: unknown) => this.logger?.debug({ err }, 'redis engine: connection error'));
      definePartitionScripts(c);
    }
    defineCatalogScripts(this.client);
    this.catalog = new Catalog(
      this.client,
      this.keys,
      () => this.replicas.required('strong', this.keys.apps),
      (what) => this.logger?.warn({ script: what }, 'redis engine: revocation stored on the registry primary, not yet confirmed by its replica'),
      {
        registerOutbox: (outbox, app) => this.events.registerOutbox(outbox, app),
        relaySoon: (outbox, app) => this.events.relaySoon(outbox, app),
      },
    );
    this.sweeper = new ExpirySweeper(this.client, this.keys, opts.sweepIntervalMs ?? 1000, this.logger, opts.indexReassertMs);
    this.replicas = new ReplicaMonitor(this.client, this.target.cluster, opts.replicaRefreshMs ?? 5000, this.logger);
    const subscriberOptions = baseOptions(tuning, 'holdline-sub');
    this.subscriber = new FeedSubscriber(
      this.target.cluster ? clusterTopology(this.client as Cluster, subscriberOptions) : singleServerTopology(this.target.url, subscriberOptions),
      this.logger,
    );
    if (this.target.cluster) this.client.on('refresh', () => this.subscriber.reconcile());
    this.events = new RedisEventLog(this.client, this.keys, this.subscriber, {
      sweepIntervalMs: opts.eventSweepIntervalMs ?? opts.sweepIntervalMs ?? 1000,
      ...(opts.eventRetention === undefined ? {} : { retention: opts.eventRetention }),
      replicasFor: (key) => this.replicas.replicasFor(key),
      recording: opts.recordEvents !== false,
      ...(this.logger === undefined ? {} : { logger: this.logger }),
    });
    this.cache = new MetaCache<QueueRecord>(() => this.subscriber.isLive(this.keys.metaChannel), opts.metaCacheTtlMs, opts.registryOutageMs);
    this.tails = new TailCache({ maxBytes: opts.historyCacheBytes ?? DEFAULT_HISTORY_CACHE_BYTES });
    this.appender = new Appender(
      (job) => this.runAppend(job),
      (send) => this.batchWrites(send),
      (err) => (isCommandTimeout(err) ? new HoldlineError('engine_unavailable', { message: WAITING_REFUSED }) : undefined),
    );
  }

  get capabilities(): EngineCapabilities {
    const enforced = this.replicas.enforceable;
    return { persistence: true, multiNode: true, consistency: { weak: true, strong: enforced, very_strong: enforced } };
  }

  /** Connects (rejects with engine_unavailable when Redis cannot be reached) and starts the timers. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    try {
      await guarded(() => connectReporting(this.client));
      await this.subscriber.start();
      // Not live (yet): the cache is bypassed until it is (meta-cache.ts).
      await this.subscriber.retain(this.keys.metaChannel, {
        // The cache forgets first, so a listener that re-reads sees the change.
        message: (payload) => this.emitMeta(this.cache.onAnnouncement(payload)),
        resync: () => {
          this.cache.clear();
          this.emitMeta(null);
        },
      });
    } catch (err) {
      await this.close();
      throw toEngineError(err);
    }
    this.state = 'started';
    metrics().historyCacheSources.add(this.tailStats);
    await this.replicas.start();
    this.sweeper.start();
    this.events.start();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.keyAlarms.clear();
    metrics().historyCacheSources.delete(this.tailStats);
    this.tails.close();
    this.replicas.stop();
    await this.sweeper.stop();
    await this.events.stop();
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

  /**
   * True while the registry's announcement channel is down and known keys and queues answer from
   * the cache (meta-cache.ts "Registry outage"); for tests, logs and metrics.
   */
  registryOutage(): boolean {
    return this.cache.inOutage();
  }

  /** Reclaims what is due now (the timer does this every sweepIntervalMs); for tests and tools. */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  // --- applications and keys ---

  createApp(name: string): Promise<{ app: AppRecord; key: string; keyId: string } | null> {
    return guarded(() => this.catalog.createApp(name));
  }

  listKeys(app: string): Promise<AppKeyRecord[]> {
    return guarded(() => this.catalog.listKeys(app));
  }

  addKey(app: string): Promise<NewAppKey> {
    return guarded(() => this.catalog.addKey(app));
  }

  rotateKey(app: string, keyId: string, graceSeconds: number): Promise<NewAppKey & { replaced: { id: string; expires: number } }> {
    return guarded(async () => {
      const rotated = await this.catalog.rotateKey(app, keyId, graceSeconds);
      this.cache.forget({ app });
      return rotated;
    });
  }

  deleteKey(app: string, keyId: string): Promise<void> {
    return guarded(async () => {
      await this.catalog.deleteKey(app, keyId);
      this.cache.forget({ app });
    });
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
      const deleted = await this.catalog.deleteAppMeta(name);
      this.cache.forget({ app: name });
      return deleted;
    });
  }

  appForKey(key: string): Promise<string | null> {
    const hash = this.keyHashes.of(key);
    return guarded(() => this.cache.appForKeyHash(hash, () => this.catalog.appForKeyHash(hash))).then((owner) => {
      if (owner === null) return null;
      if (owner.expiresMs !== null) {
        // A rotated key: refused from its expiry on; connections using it re-check then (app-keys.ts).
        if (Date.now() >= owner.expiresMs) return null;
        this.keyAlarms.arm(hash, owner.app, owner.expiresMs);
      }
      return owner.app;
    });
  }

  // --- message queues ---

  createQueue(meta: QueueMeta): Promise<boolean> {
    return guarded(() => this.catalog.createQueue(meta));
  }

  getQueue(app: string, name: string): Promise<QueueMeta | null> {
    // Every publish asks: answered from the cache without the async steps when it can.
    const cached = this.cache.peekQueue(app, name);
    if (cached !== undefined) return Promise.resolve(copyMeta(cached.meta));
    return guarded(async () => copyMeta((await this.queueRecord(app, name))?.meta ?? null));
  }

  updateQueue(meta: QueueMeta): Promise<void> {
    return guarded(async () => {
      await this.catalog.updateQueue(meta);
      this.cache.forget({ app: meta.application, queue: meta.name });
    });
  }

  deleteQueue(app: string, name: string): Promise<boolean> {
    return guarded(async () => {
      // Catalogue first: from here on no node can mark a partition of it again (partition-mark.lua).
      const record = await this.catalog.deleteQueueMeta(app, name);
      if (record === null) return false;
      this.cache.forget({ app, queue: name });
      await this.dropPartitions(record);
      return true;
    });
  }

  /** Always read from the store, never the cache (the domain relies on it: MessageQueues.current). */
  listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]> {
    return guarded(() => this.catalog.listQueues(app, opts));
  }

  // --- messages ---

  append(queue: QueueMeta, messages: NewMessage[]): Promise<StoredMessage[]> {
    const n = messages.length;
    if (n === 0) return Promise.resolve([]);
    // All of the append or none of it: refused whole, before any partition's share is submitted.
    // An append alone may exceed the bound (it waits for nothing else).
    if (this.pendingMessages > 0 && this.pendingMessages + n > this.maxPendingMessages) {
      const message = `The storage engine is not answering: ${this.pendingMessages} messages wait for it on this node already`;
      return Promise.reject(new HoldlineError('engine_unavailable', { message }));
    }
    const partition = messages[0]!.partition;
    if (messages.every((m) => m.partition === partition)) {
      // One partition (a publish usually is): one submission, no grouping, no async steps of its own.
      const ref: PartitionRef = { app: queue.application, queue: queue.name, partition };
      let k: PartitionKeys;
      try {
        k = this.partitionKeys(ref);
      } catch (err) {
        return Promise.reject(toEngineError(err));
      }
      this.pendingMessages += n;
      return this.appender.submit(k.state, ref, this.replicas.required(queue.consistency, k.ids), messages).then(
        (stored) => {
          this.pendingMessages -= n;
          return messages.map((m, j) => storedMessage(m, partition, stored[j]!));
        },
        (err: unknown) => {
          this.pendingMessages -= n;
          throw toEngineError(err);
        },
      );
    }
    this.pendingMessages += n;
    return this.appendSpread(queue, messages).finally(() => {
      this.pendingMessages -= n;
    });
  }

  /** An append whose messages go to several partitions: one submission per partition, concurrently. */
  private appendSpread(queue: QueueMeta, messages: NewMessage[]): Promise<StoredMessage[]> {
    return guarded(async () => {
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
          const batch = indexes.length === messages.length ? messages : indexes.map((i) => messages[i]!);
          const k = this.keys.partition(ref);
          const stored = await this.appender.submit(k.state, ref, this.replicas.required(queue.consistency, k.ids), batch);
          indexes.forEach((i, j) => {
            out[i] = storedMessage(batch[j]!, partition, stored[j]!);
          });
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return out;
    });
  }

  /**
   * Index entries the filtered reads of this engine have touched (read-filtered-8.lua counts them):
   * what shows a filtered read costs about what it returns (test/integration/redis-state-index.test.ts).
   */
  indexEntriesRead = 0;

  read(ref: PartitionRef, opts: ReadOptions): Promise<StoredMessage[]> {
    return guarded(async () => {
      const filter = opts.filter;
      // The node's tail of a followed partition answers unfiltered reads (tail-cache.ts); filtered
      // ones walk the processing-state indexes in Redis.
      if (filter === undefined && this.tails.enabled) {
        const held = await this.tails.read(partitionKey(ref), opts);
        if (held !== null) return held;
      }
      let records: Buffer[];
      if (filter === undefined) records = await readRecords(this.client, this.partitionKeys(ref), opts, this.corkForTick);
      else {
        const result = await readFiltered(this.client, this.partitionKeys(ref), { ...opts, filter }, this.corkForTick);
        this.indexEntriesRead += result.touched;
        records = result.records;
      }
      // Shared, frozen messages for records read before (record.ts RecordCache).
      const out = new Array<StoredMessage>(records.length);
      for (let i = 0; i < records.length; i++) out[i] = this.records.decode(records[i]!);
      return out;
    });
  }

  getMessage(ref: PartitionRef, id: string): Promise<StoredMessage | null> {
    return guarded(async () => {
      const record = await getRecord(this.client, this.keys.partition(ref), id);
      return record === null ? null : decodeRecord(record);
    });
  }

  changeState(ref: PartitionRef, id: string, change: StateChange): Promise<StateChangeResult> {
    // The message.state event is recorded by the same script (update-9.lua), in the partition's outbox.
    return this.recordingIn(ref, () => guarded(async (): Promise<StateChangeResult> => {
      const patch: MessagePatch = {};
      if (change.clientState !== undefined) patch.clientState = change.clientState;
      if (change.clientJson !== undefined) patch.clientJson = change.clientJson;
      // The check and the change are one script: exactly one of racing claims wins, on every node.
      const reply = await updateRecord(this.client, this.keys.partition(ref), id, patch, 'message.state', change.ifState);
      if (reply === null) return { kind: 'not_found' };
      if ('conflict' in reply) return { kind: 'conflict', current: reply.conflict };
      return { kind: 'updated', message: decodeRecord(reply.record) };
    }));
  }

  /**
   * A partition write that records events (update.lua, delete.lua): its outbox registered before and
   * relayed after, with the partition as the context its events leave implicit (events.ts).
   */
  private async recordingIn<T>(ref: PartitionRef, write: () => Promise<T>): Promise<T> {
    const outbox = this.keys.partition(ref).outbox;
    const context = { app: ref.app, traits: { queue_name: ref.queue, partition: ref.partition } };
    await this.events.registerOutbox(outbox, context);
    try {
      return await write();
    } finally {
      this.events.relaySoon(outbox, context);
    }
  }

  updateMessage(ref: PartitionRef, id: string, patch: MessagePatch): Promise<StoredMessage | null> {
    return this.recordingIn(ref, () => this.updateMessageNow(ref, id, patch));
  }

  private updateMessageNow(ref: PartitionRef, id: string, patch: MessagePatch): Promise<StoredMessage | null> {
    return guarded(async () => {
      const reply = await updateRecord(this.client, this.keys.partition(ref), id, patch, 'message.update');
      if (reply === null || !('record' in reply)) return null;
      const message = decodeRecord(reply.record);
      // A shorter ttl may now be the partition's earliest expiry.
      if (patch.ttl !== undefined) await this.noteExpiry(ref, message.expiresAtMs);
      return message;
    });
  }

  deleteMessages(ref: PartitionRef, ids: string[]): Promise<number> {
    return this.recordingIn(ref, () => guarded(() => deleteRecords(this.client, this.keys.partition(ref), ids)));
  }

  count(ref: PartitionRef): Promise<number> {
    return guarded(() => countLive(this.client, this.keys.partition(ref)));
  }

  // --- fan-out ---

  /**
   * The node's one live subscriber (subscriber.ts), for the other feeds of the same Redis: the call
   * store follows its queues on it (calls-factory.ts), so a node keeps one sharded subscription per
   * primary for every kind of feed. Owned by the engine: closed by close().
   */
  /** The key prefix (config.redisPrefix): a call store sharing this engine uses the same one. */
  get prefix(): string {
    return this.keys.prefix;
  }

  get feeds(): FeedSubscriber {
    return this.subscriber;
  }

  subscribe(ref: PartitionRef, listener: PartitionListener): Promise<Unsubscribe> {
    if (this.state !== 'started') return Promise.reject(new HoldlineError('engine_unavailable'));
    const channel = this.keys.partition(ref).channel;
    return this.subscriber.subscribe(channel, PARTITION_FEED, listener).then((unsubscribe) => {
      // The node follows this partition: it keeps its tail for history reads (tail-cache.ts).
      const key = partitionKey(ref);
      this.tails.follow(key, this.tailStore(ref));
      let released = false;
      return () => {
        if (!released) {
          released = true;
          this.tails.unfollow(key);
        }
        return unsubscribe();
      };
    });
  }

  /** How the tail of `ref` reads the store (tail-cache.ts). */
  private tailStore(ref: PartitionRef): TailStore {
    const k = this.partitionKeys(ref);
    return {
      probe: () => probePartition(this.client, k),
      tail: async (max) => {
        const { probe, records } = await readTail(this.client, k, max);
        return { probe, messages: records.map((r) => decodeRecord(r)) };
      },
      subscribe: (listener) => this.subscriber.subscribe(k.channel, PARTITION_FEED, listener),
    };
  }

  // --- metadata announcements ---

  /**
   * Hears what the metadata channel carries (meta-cache.ts), this node's changes included (by their
   * echo), and `resync` whenever the channel was interrupted (announcements may have been missed).
   */
  watchMeta(listener: MetaListener): () => void {
    const entry: MetaListener = (event) => listener(event);
    this.metaListeners.add(entry);
    return () => void this.metaListeners.delete(entry);
  }

  announceAgentChange(app: string, agent: string): Promise<void> {
    return guarded(async () => {
      await this.client.spublish(this.keys.metaChannel, encodeChange({ app, agent }));
    });
  }

  /** null: an unreadable announcement or a resubscription, i.e. anything may have changed. */
  private emitMeta(change: MetaChange | null): void {
    if (change?.key !== undefined) this.keyAlarms.disarm(change.key);
    if (this.metaListeners.size === 0) return;
    const event: MetaEvent =
      change === null
        ? { kind: 'resync' }
        : change.queue !== undefined
          ? { kind: 'queue', app: change.app, queue: change.queue, deleted: change.deleted === true }
          : change.agent !== undefined
            ? { kind: 'agent', app: change.app, agent: change.agent }
            : { kind: 'app', app: change.app };
    this.emitEvent(event);
  }

  private emitEvent(event: MetaEvent): void {
    for (const listener of [...this.metaListeners]) {
      try {
        listener({ ...event });
      } catch (err) {
        this.logger?.error({ err }, 'redis engine: metadata listener failed');
      }
    }
  }

  // --- internals ---

  /** keys.partition(ref), remembered (by application, queue, partition): every append needs them, and they never change. */
  private partitionKeys(ref: PartitionRef): PartitionKeys {
    let queues = this.knownKeys.get(ref.app);
    if (queues === undefined) {
      if (this.knownKeys.size >= KNOWN_KEYS_MAX) this.knownKeys.clear();
      queues = new Map();
      this.knownKeys.set(ref.app, queues);
    }
    let partitions = queues.get(ref.queue);
    if (partitions === undefined) {
      if (queues.size >= KNOWN_KEYS_MAX) queues.clear();
      partitions = [];
      queues.set(ref.queue, partitions);
    }
    let k = partitions[ref.partition];
    if (k === undefined) {
      k = this.keys.partition(ref);
      partitions[ref.partition] = k;
    }
    return k;
  }

  /** Metadata and incarnation, from the cache when it can answer. */
  private queueRecord(app: string, name: string): Promise<QueueRecord | null> {
    return this.cache.queue(app, name, () => this.catalog.queueRecord(app, name));
  }

  /**
   * One combined append (appender.ts), for the queue incarnation this node knows (normally from
   * the cache: no round trip). append.lua stores only if the partition carries exactly that
   * incarnation's live marker, and otherwise returns the marker it found:
   *   none, or an older incarnation's: a partition this incarnation has not used yet (new queue,
   *     grown queue, queue created again, data from before markers): mark it, append again;
   *   this incarnation's tombstone, or a newer incarnation's marker: what this node knows is out
   *     of date: read the catalogue, and append again for what it holds now, or refuse.
   * Each turn either succeeds or learns something newer, so a few turns always settle it.
   */
  private runAppend(job: AppendJob): Promise<StoredEntry[]> {
    // Usually the cache answers at once: the script call is then made before this returns, so the
    // appender's turn of calls leaves in one write (batchWrites).
    const { app, queue: name, partition } = job.ref;
    const cached = this.cache.peekQueue(app, name);
    if (cached === undefined || partition > cached.meta.partitions) return this.settleAppend(job);
    const k = this.partitionKeys(job.ref);
    return this.appendOnce(k, job, cached.inc).then((result) => ('marker' in result ? this.settleAppend(job, cached, result) : result.stored));
  }

  /**
   * The turns described above; `first` is what a first attempt for `known` already returned.
   */
  private async settleAppend(job: AppendJob, known?: QueueRecord, first?: { marker: string }): Promise<StoredEntry[]> {
    const { app, queue: name, partition } = job.ref;
    const k = this.partitionKeys(job.ref);
    let record = known ?? (await this.queueRecord(app, name));
    let pending = first;
    let fresh = false;
    const refresh = async (): Promise<void> => {
      this.cache.forget({ app, queue: name });
      record = await this.queueRecord(app, name);
      fresh = true;
    };
    for (let turn = 0; turn < 4; turn++) {
      if ((record === null || partition > record.meta.partitions) && !fresh) await refresh();
      if (record === null || partition > record.meta.partitions) break;
      const result = pending ?? (await this.appendOnce(k, job, record.inc));
      pending = undefined;
      if (!('marker' in result)) return result.stored;
      const found = parseMarker(result.marker);
      if ((found === null || found.inc < record.inc) && (await markPartition(this.client, k, record.inc))) continue;
      if (fresh && (found === null || found.inc <= record.inc)) break;
      await refresh();
    }
    throw new HoldlineError('queue_not_found');
  }

  /**
   * Makes the script calls that `send` makes leave in one write: on a single server, the command
   * connection is corked meanwhile (on a cluster each call goes to its own node as it is made).
   */
  private batchWrites(send: () => void): void {
    const stream = this.target.cluster || this.client.status !== 'ready' ? undefined : (this.client as Redis).stream;
    if (stream === undefined) return send();
    stream.cork();
    try {
      send();
    } finally {
      stream.uncork();
    }
  }

  /**
   * Holds the command connection's writes until the current tick's callbacks and promise
   * continuations have run: reads answered together (one socket read holds many replies) then send
   * their next commands in one write instead of one system call each. Single server only.
   */
  private readonly corkForTick = (): void => {
    if (this.corked || this.target.cluster || this.client.status !== 'ready') return;
    const stream = (this.client as Redis).stream;
    stream.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      stream.uncork();
    });
  };

  /** The script, then the expiry index, then WAIT when the level needs it; or the marker found instead. */
  private async appendOnce(k: PartitionKeys, job: AppendJob, inc: number): Promise<AppendReply | { marker: string }> {
    const call = appendArgs(k, job.ref.partition, inc, job.messages, randomIdPart);
    if (job.required === 0) {
      const result = parseAppendReply(await appendCall(this.client, call), call);
      if (!('marker' in result)) await this.sweeper.afterAppend(job.ref, result.earliestMs, result.lowered);
      return result;
    }
    await this.connectConfirmClient();
    const [appendResult, waitResult] = await this.appendAndWait(call, job.required);
    if (appendResult === undefined || appendResult[0] !== null) throw appendResult?.[0] ?? new Error('append: no reply');
    const result = parseAppendReply(appendResult[1], call);
    if ('marker' in result) return result;
    // The expiry index must learn about the stored messages, confirmed or not.
    await this.sweeper.afterAppend(job.ref, result.earliestMs, result.lowered);
    const acked = waitResult !== undefined && waitResult[0] === null ? Number(waitResult[1]) : 0;
    if (acked < job.required) {
      this.logger?.warn({ partition: job.ref, required: job.required, acked }, 'redis engine: write not confirmed by enough replicas');
      throw new HoldlineError('not_confirmed');
    }
    return result;
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

  /**
   * Script and WAIT in one pipeline: both go to the partition's primary on one connection, and
   * WAIT covers every write that connection made before it. On a cluster, ioredis does not follow
   * a redirection inside such a pipeline (its two commands get different answers); a script that
   * was redirected did not run, so the pipeline is sent once more after the slots are re-read.
   */
  private async appendAndWait(call: AppendCall, required: number): Promise<[Error | null, unknown][]> {
    for (let attempt = 0; ; attempt++) {
      const pipeline = this.confirmClient.pipeline();
      void appendCall(pipeline, call);
      pipeline.wait(required, this.waitTimeoutMs);
      const results = (await pipeline.exec()) ?? [];
      if (attempt > 0 || !this.target.cluster || !isRedirection(results[0]?.[0])) return results;
      const cluster = this.confirmClient as Cluster;
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    }
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

  /**
   * Drops every partition of a deleted queue (partition-drop.lua), then takes each out of the
   * expiry index by the sweep's steps (2) and (3) (sweeper.ts), which stay sound should a queue of
   * the same name be created and appended to meanwhile.
   */
  private async dropPartitions({ meta, inc }: QueueRecord): Promise<void> {
    const refs: PartitionRef[] = [];
    for (let p = 1; p <= meta.partitions; p++) refs.push({ app: meta.application, queue: meta.name, partition: p });
    await Promise.all(
      refs.map(async (ref) => {
        if (await dropPartition(this.client, this.keys.partition(ref), inc, TOMBSTONE_MS)) await this.sweeper.reindex(ref, -1);
      }),
    );
  }
}

/** The stored form of one appended message, from its input and what append.lua assigned. */
function storedMessage(input: NewMessage, partition: number, { id, expiresAtMs, seq, timestampUs }: StoredEntry): StoredMessage {
  const message: StoredMessage = {
    id,
    partition,
    seq,
    timestampUs,
    body: typeof input.body === 'string' ? input.body : new Uint8Array(input.body),
    ttl: input.ttl,
    expiresAtMs,
  };
  appendFields(input, message);
  return message;
}
