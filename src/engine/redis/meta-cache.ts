/**
 * Node-local cache of the two lookups every request makes: key -> application (auth) and queue
 * metadata. Without it each REST post or read costs two catalogue round trips before its own.
 *
 * Invalidation: every catalogue script that changes something cached (queue-update, queue-delete,
 * app-delete) publishes the change on the metadata's shard channel (keys.ts `metaChannel`) in the
 * same atomic step; every engine subscribes to it and drops the entries concerned. The engine that
 * made the change drops its own entries before the call returns, without waiting for the echo.
 * Creations need no announcement: a miss is never cached (so unknown keys cannot fill memory).
 *
 * Staleness bound: after a change commits in Redis, another node may serve the previous value
 * until the announcement reaches it (pub/sub delivery: well under a millisecond on a healthy
 * link). Entries are used only while the subscription is known to be intact; when its connection
 * drops, or its slot moves to another primary, the cache is bypassed, and once resubscribed it is
 * emptied (announcements may have been missed in between). A fetch that an announcement overtook
 * is not stored. Safety net for failures nobody noticed (a subscription that silently stops
 * delivering): entries live at most TTL_MS, so a change is seen everywhere within TTL_MS at worst.
 *
 * What staleness can and cannot do: an append to a deleted queue is refused by the partition's
 * marker whatever the cache says (append.lua); a read may see a deleted queue as existing (and
 * read nothing); a revoked key or a narrowed read permission may be honoured for the bound above.
 */

/** Longest an entry is trusted without an announcement (default; RedisEngineOptions.metaCacheTtlMs). */
export const TTL_MS = 5000;
/** Entries per map; the oldest goes first. */
const MAX_ENTRIES = 10_000;

/**
 * What is announced on the metadata channel: a queue updated, or deleted (`deleted`); an
 * application deleted (`app` alone); an agent's credentials changed (`agent`: a token revoked or the
 * agent deleted; nothing cached here depends on it, it is carried for Engine.watchMeta).
 */
export type MetaChange = { app: string; queue?: string; deleted?: true; agent?: string };

export function encodeChange(change: MetaChange): string {
  return JSON.stringify(change);
}

export function decodeChange(payload: Buffer): MetaChange | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || typeof (v as MetaChange).app !== 'string') return null;
    const { app, queue, deleted, agent } = v as Record<string, unknown>;
    const change: MetaChange = { app: app as string };
    if (typeof queue === 'string') change.queue = queue;
    if (deleted === true) change.deleted = true;
    if (typeof agent === 'string') change.agent = agent;
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
  /** key hash -> application name */
  private readonly apps: Lru<string>;
  private readonly queues: Lru<Q>;
  private readonly enabled: boolean;
  /** Bumped by every invalidation: a fetch that started before one is not stored, nor shared after it. */
  private epoch = 0;
  /** Fetches in flight, by epoch and key (queue and key-hash keys cannot collide: see queueKey). */
  private readonly inflight = new Map<string, Promise<unknown>>();

  /**
   * @param live whether announcements are being received right now (else the cache is bypassed)
   * @param ttlMs longest an entry is trusted; 0 turns the cache off
   */
  constructor(
    private readonly live: () => boolean,
    ttlMs = TTL_MS,
  ) {
    this.apps = new Lru<string>(ttlMs);
    this.queues = new Lru<Q>(ttlMs);
    this.enabled = ttlMs > 0;
  }

  appForKeyHash(hash: string, fetch: () => Promise<string | null>): Promise<string | null> {
    return this.through(this.apps, hash, fetch);
  }

  queue(app: string, name: string, fetch: () => Promise<Q | null>): Promise<Q | null> {
    return this.through(this.queues, queueKey(app, name), fetch);
  }

  /** The cached queue when the cache can answer now, without a promise (the append path); else undefined. */
  peekQueue(app: string, name: string): Q | undefined {
    if (!this.enabled || !this.live()) return undefined;
    return this.queues.get(queueKey(app, name), Date.now());
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

  /** Drops what a change makes stale: one queue, or everything of an application (not agents: none cached). */
  forget(change: MetaChange): void {
    if (change.agent !== undefined && change.queue === undefined) return;
    this.epoch++;
    if (change.queue !== undefined) {
      this.queues.delete(queueKey(change.app, change.queue));
      return;
    }
    const prefix = queueKey(change.app, '');
    this.queues.deleteWhere((k) => k.startsWith(prefix));
    this.apps.deleteWhere((_k, app) => app === change.app);
  }

  /** Announcements may have been missed (resubscribed after an interruption). */
  clear(): void {
    this.epoch++;
    this.apps.clear();
    this.queues.clear();
  }

  private through<T>(lru: Lru<T>, key: string, fetch: () => Promise<T | null>): Promise<T | null> {
    if (!this.enabled || !this.live()) return fetch();
    const cached = lru.get(key, Date.now());
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
