/**
 * Node-local cache of the two lookups every request makes: key -> application (auth) and queue
 * metadata. Without it each REST post or read costs two catalogue round trips before its own.
 *
 * Invalidation: every catalogue script that changes something cached (queue-update, queue-delete,
 * app-delete, app-key-rotate, app-key-delete) publishes the change on the metadata's shard channel (keys.ts `metaChannel`) in the
 * same atomic step; every engine subscribes to it and drops the entries concerned. The engine that
 * made the change drops its own entries before the call returns, without waiting for the echo.
 * Creations need no announcement: a miss is never cached (so unknown keys cannot fill memory).
 *
 * Staleness bound: after a change commits in Redis, another node may serve the previous value
 * until the announcement reaches it (pub/sub delivery: well under a millisecond on a healthy
 * link). A fetch that an announcement overtook is not stored. Safety net for failures nobody
 * noticed (a subscription that silently stops delivering): entries live at most TTL_MS, so a
 * change is seen everywhere within TTL_MS at worst.
 *
 * Registry outage (issue 10): when the subscription is not intact (its connection dropped, or its
 * slot moved to another primary, e.g. the registry's primary died and a replica is being promoted),
 * announcements cannot arrive and nothing new is stored. For up to `outageMs` (default
 * OUTAGE_MS; HOLDLINE_REGISTRY_OUTAGE_MS) from the moment this node notices, the entries it held
 * when the channel broke, trusted then (within their TTL), keep answering: requests for
 * credentials and queues already known go on without touching the registry, so partitions on
 * healthy shards keep working. Anything not cached is read from the registry (and fails with
 * engine_unavailable while it is down). After `outageMs` the cache is bypassed as before. So a
 * change made during the outage (a key revoked, a queue narrowed) may be honoured by a node for at
 * most `outageMs` (the outage is noticed at the first lookup after the break; the entries served
 * are the ones trusted at that instant, all of them fetched before the break); it applies as soon as
 * the channel is back: the resubscription empties the cache
 * and tells every listener to re-check (Engine.watchMeta `resync`: live connections re-check their
 * credentials then). 0 turns this off (bypass at once).
 *
 * What staleness can and cannot do: an append to a deleted queue is refused by the partition's
 * marker whatever the cache says (append.lua); a read may see a deleted queue as existing (and
 * read nothing); a revoked key or a narrowed read permission may be honoured for the bound above.
 */

/** Longest an entry is trusted without an announcement (default; RedisEngineOptions.metaCacheTtlMs). */
export const TTL_MS = 5000;
/** How long entries known when the channel broke keep answering during an outage (default; RedisEngineOptions.registryOutageMs). */
export const OUTAGE_MS = 30_000;
/** Entries per map; the oldest goes first. */
const MAX_ENTRIES = 10_000;

/**
 * What is announced on the metadata channel: a queue updated, or deleted (`deleted`); an
 * application deleted (`app` alone); an agent's credentials changed (`agent`: a token revoked or the
 * agent deleted; nothing cached here depends on it, it is carried for Engine.watchMeta); one key of
 * an application revoked or given an expiry (`key`: its hash).
 */
export type MetaChange = { app: string; queue?: string; deleted?: true; agent?: string; key?: string };

/** What a key hash resolves to: its application, and when the key stops working (ms; null: never). */
export interface KeyOwner {
  app: string;
  expiresMs: number | null;
}

export function encodeChange(change: MetaChange): string {
  return JSON.stringify(change);
}

export function decodeChange(payload: Buffer): MetaChange | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || typeof (v as MetaChange).app !== 'string') return null;
    const { app, queue, deleted, agent, key } = v as Record<string, unknown>;
    const change: MetaChange = { app: app as string };
    if (typeof queue === 'string') change.queue = queue;
    if (deleted === true) change.deleted = true;
    if (typeof agent === 'string') change.agent = agent;
    if (typeof key === 'string') change.key = key;
    return change;
  } catch {
    return null;
  }
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

class Lru<T> {
  private readonly map = new Map<string, Entry<T>>();

  constructor(private readonly ttlMs: number) {}

  /** An entry that was still trusted at `at` (during an outage: without deleting anything). */
  trustedAt(key: string, at: number): T | undefined {
    const entry = this.map.get(key);
    return entry !== undefined && entry.expiresAt > at ? entry.value : undefined;
  }

  get(key: string, now: number): T | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, now: number): void {
    this.map.delete(key);
    this.map.set(key, { value, expiresAt: now + this.ttlMs });
    if (this.map.size > MAX_ENTRIES) this.map.delete(this.map.keys().next().value!);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  deleteWhere(test: (key: string, value: T) => boolean): void {
    for (const [key, entry] of this.map) if (test(key, entry.value)) this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

function queueKey(app: string, name: string): string {
  return `${app}\u0000${name}`;
}

export class MetaCache<Q> {
  /** key hash -> its application (and when the key expires, if it does) */
  private readonly apps: Lru<KeyOwner>;
  private readonly queues: Lru<Q>;
  private readonly enabled: boolean;
  /** Bumped by every invalidation: a fetch that started before one is not stored, nor shared after it. */
  private epoch = 0;
  /** Fetches in flight, by epoch and key (queue and key-hash keys cannot collide: see queueKey). */
  private readonly inflight = new Map<string, Promise<unknown>>();

  /** When this node noticed the channel was not intact (undefined: intact, or never was). */
  private downSince: number | undefined;
  /** Whether the channel was ever seen intact (an engine that never was has nothing to serve). */
  private everLive = false;

  /**
   * @param live whether announcements are being received right now (else see "Registry outage")
   * @param ttlMs longest an entry is trusted; 0 turns the cache off
   * @param outageMs how long known entries keep answering once the channel broke; 0: bypass at once
   */
  constructor(
    private readonly live: () => boolean,
    ttlMs = TTL_MS,
    private readonly outageMs = OUTAGE_MS,
  ) {
    this.apps = new Lru<KeyOwner>(ttlMs);
    this.queues = new Lru<Q>(ttlMs);
    this.enabled = ttlMs > 0;
  }

  appForKeyHash(hash: string, fetch: () => Promise<KeyOwner | null>): Promise<KeyOwner | null> {
    return this.through(this.apps, hash, fetch);
  }

  queue(app: string, name: string, fetch: () => Promise<Q | null>): Promise<Q | null> {
    return this.through(this.queues, queueKey(app, name), fetch);
  }

  /** The cached queue when the cache can answer now, without a promise (the append path); else undefined. */
  peekQueue(app: string, name: string): Q | undefined {
    if (!this.enabled) return undefined;
    const now = Date.now();
    const mode = this.mode(now);
    if (mode === 'live') return this.queues.get(queueKey(app, name), now);
    return mode === 'bypass' ? undefined : this.queues.trustedAt(queueKey(app, name), mode);
  }

  /** True while entries answer although the channel is down (for tests, logs and metrics). */
  inOutage(): boolean {
    return this.enabled && typeof this.mode(Date.now()) === 'number';
  }

  /**
   * 'live': entries are trusted within their TTL; a number: the channel is down and entries
   * trusted at that instant still answer; 'bypass': nothing answers from the cache.
   */
  private mode(now: number): 'live' | 'bypass' | number {
    if (this.live()) {
      this.downSince = undefined;
      this.everLive = true;
      return 'live';
    }
    if (!this.everLive || this.outageMs <= 0) return 'bypass';
    this.downSince ??= now;
    return now - this.downSince < this.outageMs ? this.downSince : 'bypass';
  }

  /**
   * An announcement from the metadata channel (any node's change, this one's included). Returns it
   * decoded; null when it could not be read (everything cached was then dropped).
   */
  onAnnouncement(payload: Buffer): MetaChange | null {
    const change = decodeChange(payload);
    if (change === null) this.clear();
    else this.forget(change);
    return change;
  }

  /** Drops what a change makes stale: one queue, one key, or everything of an application (not agents: none cached). */
  forget(change: MetaChange): void {
    if (change.agent !== undefined && change.queue === undefined) return;
    this.epoch++;
    if (change.key !== undefined) {
      this.apps.delete(change.key);
      return;
    }
    if (change.queue !== undefined) {
      this.queues.delete(queueKey(change.app, change.queue));
      return;
    }
    const prefix = queueKey(change.app, '');
    this.queues.deleteWhere((k) => k.startsWith(prefix));
    this.apps.deleteWhere((_k, owner) => owner.app === change.app);
  }

  /** Announcements may have been missed (resubscribed after an interruption). */
  clear(): void {
    this.epoch++;
    this.apps.clear();
    this.queues.clear();
  }

  private through<T>(lru: Lru<T>, key: string, fetch: () => Promise<T | null>): Promise<T | null> {
    if (!this.enabled) return fetch();
    const now = Date.now();
    const mode = this.mode(now);
    if (mode === 'bypass') return fetch();
    if (mode !== 'live') {
      // Outage: what was known when the channel broke, else the registry (nothing is stored).
      const known = lru.trustedAt(key, mode);
      return known !== undefined ? Promise.resolve(known) : fetch();
    }
    const cached = lru.get(key, now);
    if (cached !== undefined) return Promise.resolve(cached);
    // Concurrent misses share one fetch (a burst of requests for a cold key makes one round trip),
    // unless an invalidation came in since it started.
    const flightKey = `${this.epoch}\u0001${key}`;
    const pending = this.inflight.get(flightKey) as Promise<T | null> | undefined;
    if (pending !== undefined) return pending;
    const epoch = this.epoch;
    const fetched = fetch().then((value) => {
      if (value !== null && epoch === this.epoch && this.live()) lru.set(key, value, Date.now());
      return value;
    });
    this.inflight.set(flightKey, fetched);
    const done = (): void => {
      this.inflight.delete(flightKey);
    };
    fetched.then(done, done);
    return fetched;
  }
}
