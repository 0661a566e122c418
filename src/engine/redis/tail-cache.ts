/**
 * History from memory (issue 18): for each partition this node follows (a WebSocket subscriber on
 * it: the hub's store subscription, RedisEngine.subscribe), a bounded tail of its newest messages,
 * exact by seq, from which `since`/`limit` reads (REST and the WebSocket `history` frame, both
 * Engine.read) are answered when the range lies inside it. A read then costs one tiny script call
 * (partition-probe.lua) instead of read.lua + HMGET of every record, and no record decoding.
 *
 * What a tail holds, and why it is exact:
 *   - It covers every message stored with id >= `floor` and seq <= `hi` ('' floor: from the
 *     partition's start). It is filled by partition-tail.lua, which reads the newest messages and
 *     the partition's seq, change version and marker at one instant, after the tail's own live
 *     subscription is active; from then on every append is announced on the partition's channel in
 *     seq order, and an announced message extends the tail only if it is exactly hi + 1. A hole
 *     (announcements lost), a resync of the channel, or a seq at or below hi that is another message
 *     drop the tail; the next read fills it again (and meanwhile reads go to the store).
 *   - Appends are the only changes announced. Updates and deletes of stored messages (through any
 *     node) advance the partition's change version `v` in the same script (update.lua, delete.lua,
 *     includes/messageChanged.lua); queue deletion and re-creation change its marker `q`. Every read
 *     from the tail first asks the partition (partition-probe.lua: seq, v, q and the Redis clock, at
 *     one instant, and the timestamp of the last append): a different v or q drops the tail and
 *     the read goes to the store; so does a last seq the tail holds as another message (a failover
 *     lost appends and the seq was assigned again: the timestamps differ). A seq above hi means
 *     appends this node has not heard of yet: the read is served only when it ends before hi (its
 *     limit is reached inside the tail); a seq below hi, appends announced here before the probe's
 *     reply came: they are left out, as the store's answer at that instant would leave them.
 *   - A partition whose messages change more often than it is read waits a growing number of
 *     store reads between fills (refill).
 *   - Expiry: messages whose expiresAtMs <= the Redis clock of the probe are skipped, exactly as
 *     read.lua skips them (a ttl changed by an update is a change of version).
 *   - The answer is as the store held it at the probe's instant, as a store read is as the store
 *     held it when read.lua ran.
 *
 * Memory: every tail together stays under `maxBytes` (HOLDLINE_HISTORY_CACHE_BYTES; 0: off), oldest
 * messages out first (the partition that grew first, then the largest), each at most `maxMessages`
 * (what a fill reads). `holdline_history_cache_bytes` and `_messages` report it (src/metrics).
 */
import { idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../ids.js';
import type { PartitionEvent, ReadOptions, StoredMessage, Unsubscribe } from '../types.js';
import type { PartitionProbe } from './partition-scripts.js';

/** What the tail of one partition reads from the store (bound to its keys by the engine). */
export interface TailStore {
  probe(): Promise<PartitionProbe>;
  /** The newest `max` records, newest first, decoded, and the probe at the same instant. */
  tail(max: number): Promise<{ probe: PartitionProbe; messages: StoredMessage[] }>;
  /** The tail's own live subscription to the partition's channel. */
  subscribe(listener: (event: PartitionEvent) => void): Promise<Unsubscribe>;
}

export interface TailCacheOptions {
  /** Bytes (estimated) of every tail together; 0 disables the cache. */
  maxBytes: number;
  /** Messages per partition at most, and how many a fill reads. */
  maxMessages?: number;
}

/** Estimated bytes of a message held in a tail (strings count two bytes per character). */
function sizeOf(m: StoredMessage): number {
  let n = 200 + (typeof m.body === 'string' ? m.body.length * 2 : m.body.byteLength);
  if (m.contentType !== undefined) n += m.contentType.length * 2;
  if (m.inReplyTo !== undefined) n += 64;
  if (m.clientState !== undefined) n += m.clientState.length * 2;
  if (m.clientJson !== undefined) n += 256;
  return n;
}

function freezeDeep(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) freezeDeep(x);
}

/** Held messages are shared between reads, so frozen; a binary body (not freezable) is copied per read. */
function hold(m: StoredMessage): StoredMessage {
  if (typeof m.body !== 'string') return m;
  freezeDeep(m.clientJson);
  return Object.freeze(m);
}

function give(m: StoredMessage): StoredMessage {
  return typeof m.body === 'string' ? m : { ...m, body: new Uint8Array(m.body) };
}

/** Index of the first entry from `from` on whose id is >= `id` (entries ascending by id). */
function lowerBound(entries: readonly StoredMessage[], from: number, id: string): number {
  let lo = from;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry from `from` on whose id is > `id`. */
function upperBound(entries: readonly StoredMessage[], from: number, id: string): number {
  let lo = from;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.id <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index in `tail.entries` of the entry with this seq, or -1. */
function seqIndex(tail: Tail, seq: number): number {
  const { entries } = tail;
  let lo = tail.head;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo < entries.length && entries[lo]!.seq === seq ? lo : -1;
}

/** Above every id that sorts after `id` (ids are 32 characters). */
function justAfter(id: string): string {
  return `${id}\u0000`;
}

class Tail {
  refs = 1;
  unsubscribe: Unsubscribe | null = null;
  /** Settles once the tail's own subscription is active. */
  ready: Promise<void> = Promise.resolve();
  filled = false;
  filling: Promise<void> | null = null;
  /** Announced while the fill runs: applied after it. */
  early: StoredMessage[] = [];
  /** Bumped by every drop: a fill started before a drop is discarded. */
  epoch = 0;
  entries: StoredMessage[] = [];
  /** Index of the first live entry in `entries` (trimmed entries before it are cut off in bulk). */
  head = 0;
  floor = '';
  hi = 0;
  version = 0;
  marker = '';
  bytes = 0;
  closed = false;
  /** Reads answered since the last fill. */
  served = 0;
  /** Store reads to let pass before the next fill (a partition whose messages change often, see refill). */
  skip = 0;
  /** What skip was last set to: doubles while fills are dropped by changes before they answer much. */
  backoff = 0;

  constructor(
    readonly key: string,
    readonly store: TailStore,
  ) {}

  get length(): number {
    return this.entries.length - this.head;
  }
}

export class TailCache {
  private readonly tails = new Map<string, Tail>();
  private bytes = 0;
  private messages = 0;
  private readonly maxMessages: number;
  /** Reads answered from a tail, and reads that had to go to the store while a tail existed (tests, metrics). */
  hits = 0;
  misses = 0;
  /** Tails dropped (resync, hole, change seen): they fill again on the next read. */
  drops = 0;
  /** Fills started (partition-tail.lua calls). */
  fills = 0;

  constructor(private readonly opts: TailCacheOptions) {
    this.maxMessages = opts.maxMessages ?? 1000;
  }

  get enabled(): boolean {
    return this.opts.maxBytes > 0;
  }

  /** Totals for /metrics and tests: `filled` tails hold a range and answer reads. */
  stats(): { bytes: number; messages: number; partitions: number; filled: number; hits: number; misses: number; drops: number; fills: number } {
    let filled = 0;
    for (const t of this.tails.values()) if (t.filled) filled++;
    return { bytes: this.bytes, messages: this.messages, partitions: this.tails.size, filled, hits: this.hits, misses: this.misses, drops: this.drops, fills: this.fills };
  }

  /** This node follows the partition (first call per key starts its tail; one release per call). */
  follow(key: string, store: TailStore): void {
    if (!this.enabled) return;
    const existing = this.tails.get(key);
    if (existing !== undefined) {
      existing.refs++;
      return;
    }
    const tail = new Tail(key, store);
    this.tails.set(key, tail);
    tail.ready = store.subscribe((event) => this.onEvent(tail, event)).then(
      (unsubscribe) => {
        if (tail.closed) void unsubscribe().catch(() => undefined);
        else tail.unsubscribe = unsubscribe;
      },
      () => this.forget(tail),
    );
  }

  unfollow(key: string): void {
    const tail = this.tails.get(key);
    if (tail === undefined || --tail.refs > 0) return;
    this.forget(tail);
  }

  close(): void {
    for (const tail of [...this.tails.values()]) this.forget(tail);
  }

  /**
   * The read from the tail when it can answer it exactly (see the top), else null: the caller reads
   * the store. Never throws for a tail's sake; a probe that fails rejects (the store is away).
   */
  async read(key: string, opts: ReadOptions): Promise<StoredMessage[] | null> {
    const tail = this.tails.get(key);
    if (tail === undefined) return null;
    if (!tail.filled) {
      this.misses++;
      if (tail.skip > 0) tail.skip--;
      else if (tail.filling === null && tail.unsubscribe !== null) this.fill(tail);
      return null;
    }
    const probe = await tail.store.probe();
    if (!tail.filled || tail.closed) {
      this.misses++;
      return null;
    }
    if (probe.marker !== tail.marker || probe.version !== tail.version || this.renumbered(tail, probe)) {
      this.misses++;
      this.refill(tail);
      return null;
    }
    const out = this.serve(tail, opts, probe);
    if (out === null) this.misses++;
    else {
      this.hits++;
      tail.served++;
    }
    return out;
  }

  /**
   * A stored message changed (or the partition was renumbered or re-created): the tail is dropped
   * and filled again. A fill reads up to maxMessages records, so on a partition whose messages
   * change more often than it is read (processing state set on every message, say) the next fill
   * waits for a growing number of store reads (1, 2, 4 … 256) while fills keep being dropped before
   * answering a few reads; a fill that answered some resets the wait.
   */
  private refill(tail: Tail): void {
    tail.backoff = tail.served >= 4 ? 0 : Math.min(256, Math.max(1, tail.backoff * 2));
    tail.skip = tail.backoff;
    this.drop(tail);
    if (tail.skip === 0) this.fill(tail);
  }

  /**
   * The store's last seq is one the tail holds, as another message than the one held (a failover
   * lost appends and the seq was assigned again): the tail holds messages the store does not.
   */
  private renumbered(tail: Tail, probe: PartitionProbe): boolean {
    if (probe.seq > tail.hi) return false;
    const i = seqIndex(tail, probe.seq);
    return i >= 0 && tail.entries[i]!.timestampUs !== probe.ts;
  }

  /**
   * The read as the store answered it at the probe's instant: what the tail holds up to the
   * probe's seq (a message announced here before the probe's reply came is not yet in it), or null
   * when the range leaves the tail.
   */
  private serve(tail: Tail, opts: ReadOptions, probe: PartitionProbe): StoredMessage[] | null {
    const { entries, head } = tail;
    const { limit } = opts;
    const now = probe.nowMs;
    const cap = Math.min(probe.seq, tail.hi);
    // Past hi the store may hold messages this node has not heard of yet.
    const behind = probe.seq > tail.hi;
    const out: StoredMessage[] = [];
    const since = opts.since;
    if (opts.order === 'ascending') {
      const bound = since === undefined ? '' : since.kind === 'id' ? since.id : idLowerBoundForTimestamp(since.seconds);
      if (bound < tail.floor) return null;
      for (let i = lowerBound(entries, head, bound); i < entries.length && out.length < limit; i++) {
        const m = entries[i]!;
        if (m.seq > cap) break;
        if (m.expiresAtMs > now) out.push(give(m));
      }
      if (out.length < limit && behind) return null;
      return out;
    }
    const bound = since === undefined ? null : since.kind === 'id' ? since.id : idUpperBoundForTimestamp(since.seconds);
    const last = entries.length > head ? entries[entries.length - 1]!.id : null;
    // Messages past hi sort after every held id: a bound below the newest held one excludes them.
    if (behind && (bound === null || last === null || bound >= last)) return null;
    for (let i = (bound === null ? entries.length : upperBound(entries, head, bound)) - 1; i >= head && out.length < limit; i--) {
      const m = entries[i]!;
      if (m.seq <= cap && m.expiresAtMs > now) out.push(give(m));
    }
    if (out.length < limit && tail.floor !== '') return null;
    return out;
  }

  private fill(tail: Tail): void {
    if (tail.closed || tail.filling !== null) return;
    const epoch = tail.epoch;
    this.fills++;
    tail.early = [];
    tail.filling = (async () => {
      try {
        await tail.ready;
        if (tail.closed || tail.unsubscribe === null) return;
        const { probe, messages } = await tail.store.tail(this.maxMessages);
        if (tail.closed || tail.epoch !== epoch) return;
        const entries = messages.filter((m) => m.seq <= probe.seq).reverse();
        for (let i = 1; i < entries.length; i++) if (entries[i]!.seq <= entries[i - 1]!.seq) return;
        this.clear(tail);
        tail.entries = entries.map(hold);
        tail.head = 0;
        // Fewer than asked: the partition holds nothing older.
        tail.floor = messages.length < this.maxMessages ? '' : (entries[0]?.id ?? justAfter(''));
        tail.hi = probe.seq;
        tail.version = probe.version;
        tail.marker = probe.marker;
        for (const m of entries) tail.bytes += sizeOf(m);
        this.bytes += tail.bytes;
        this.messages += entries.length;
        tail.filled = true;
        tail.served = 0;
        const early = tail.early;
        tail.early = [];
        for (const m of early) {
          if (!tail.filled) break;
          this.extend(tail, m);
        }
        this.trim(tail);
      } catch {
        // The store is away: the next read tries again.
      } finally {
        tail.filling = null;
        tail.early = [];
      }
    })();
  }

  private onEvent(tail: Tail, event: PartitionEvent): void {
    if (tail.closed) return;
    if (event.type === 'resync') {
      this.drop(tail);
      return;
    }
    if (tail.filling !== null && !tail.filled) {
      tail.early.push(event.message);
      return;
    }
    if (!tail.filled) return;
    this.extend(tail, event.message);
    this.trim(tail);
  }

  /** Appends the next message, or drops the tail when `m` does not continue it exactly. */
  private extend(tail: Tail, m: StoredMessage): void {
    if (m.seq <= tail.hi) {
      // Already held (the fill saw it), unless another message holds that seq: renumbered.
      const i = seqIndex(tail, m.seq);
      if (i >= 0 && tail.entries[i]!.id !== m.id) this.drop(tail);
      return;
    }
    if (m.seq !== tail.hi + 1) {
      this.drop(tail);
      return;
    }
    tail.entries.push(hold(m));
    tail.hi = m.seq;
    const size = sizeOf(m);
    tail.bytes += size;
    this.bytes += size;
    this.messages++;
  }

  /** Keeps `tail` within maxMessages, then every tail within maxBytes, oldest entries out first. */
  private trim(grown: Tail): void {
    while (grown.length > this.maxMessages) this.shift(grown);
    if (this.bytes <= this.opts.maxBytes) return;
    while (this.bytes > this.opts.maxBytes && grown.length > 0) this.shift(grown);
    if (this.bytes <= this.opts.maxBytes) return;
    const others = [...this.tails.values()].sort((a, b) => b.bytes - a.bytes);
    for (const t of others) {
      while (this.bytes > this.opts.maxBytes && t.length > 0) this.shift(t);
      if (this.bytes <= this.opts.maxBytes) break;
    }
  }

  /** Lets go of the oldest entry: the tail then covers from just after it. */
  private shift(tail: Tail): void {
    const m = tail.entries[tail.head]!;
    tail.entries[tail.head] = undefined as unknown as StoredMessage;
    tail.head++;
    const size = sizeOf(m);
    tail.bytes -= size;
    this.bytes -= size;
    this.messages--;
    tail.floor = tail.length > 0 ? tail.entries[tail.head]!.id : justAfter(m.id);
    if (tail.head > 1024 && tail.head * 2 > tail.entries.length) {
      tail.entries = tail.entries.slice(tail.head);
      tail.head = 0;
    }
  }

  private clear(tail: Tail): void {
    this.bytes -= tail.bytes;
    this.messages -= tail.length;
    tail.bytes = 0;
    tail.entries = [];
    tail.head = 0;
    tail.filled = false;
  }

  /** Forgets what the tail holds (a resync, a hole, a change): the next read fills it again. */
  private drop(tail: Tail): void {
    if (tail.filled) this.drops++;
    tail.epoch++;
    tail.early = [];
    this.clear(tail);
  }

  private forget(tail: Tail): void {
    if (tail.closed) return;
    tail.closed = true;
    this.drop(tail);
    if (this.tails.get(tail.key) === tail) this.tails.delete(tail.key);
    const unsubscribe = tail.unsubscribe;
    tail.unsubscribe = null;
    if (unsubscribe !== null) void unsubscribe().catch(() => undefined);
  }
}
