/**
 * The feed primitive (SPEC.md 1 "Feeds"): a numbered sequence of entries — a message partition, a
 * call queue, and next the event log — readable from a point, then live in the same order, with an
 * explicit signal when the live side may have lost entries.
 *
 * A feed has three faces, which every store offers for each of its feeds:
 *
 *   - `readSince(position)`: the stored entries after a point, in seq order (a partition reads them
 *     in pages by message id; a call queue's retained changes after a seq, or null when they are gone);
 *   - a base: where the feed is now, read from storage (a partition's newest message; a call queue's
 *     snapshot, whose `seq` is its position);
 *   - a live subscription that yields, per feed, each new entry once in seq order, or `resync` when
 *     entries may have been missed (the listener re-reads from its last seen entry, or the base).
 *
 * This module holds what all feeds share: the event shape, a kind of feed as a store offers it
 * (FeedSource; the two of them are in feeds.ts), the in-process fan-out of the memory stores
 * (FeedFanOut), and the sequence checks (FeedPosition): the ONE place that decides whether a live
 * entry is the next one, old news, a seq reused by another entry, or after a gap. The Redis side of
 * the live subscription is redis/subscriber.ts (one sharded subscription per node for every kind of
 * feed); the hub and the follower that turn the three faces into a gapless stream per socket are
 * src/server/ws/feed-hub.ts and follower.ts.
 */

export type Unsubscribe = () => Promise<void>;

/**
 * What a feed's live subscription yields: `{type: K, [K]: entry}` (a partition's `message`, a call
 * queue's `change`), or `resync`: entries may have been lost (the store's connection dropped and came
 * back, a slot moved); a listener that needs completeness re-reads from its last seen entry.
 */
export type FeedEvent<K extends string, E> = ({ type: K } & { [P in K]: E }) | { type: 'resync' };

export type FeedListener<K extends string, E> = (event: FeedEvent<K, E>) => void;

/** Where a feed's live side continues from: the newest stored entry's seq (0: none) and identity. */
export interface FeedBase {
  seq: number;
  /** The entry's identity (a message id), so that a seq reused by another entry can be told; null when entries have none. */
  id: string | null;
}

/** One kind of feed as a store offers it (feeds.ts): `Ref` names one feed of the kind. */
export interface FeedSource<Ref, K extends string, E extends { seq: number }> {
  /** The tag of its entry events (`message`, `change`, ...). */
  readonly type: K;
  /** A feed's key, unique within the kind. */
  key(ref: Ref): string;
  /** Resolves once active: every entry stored after that is announced (subscribe, then read the base). */
  subscribe(ref: Ref, listener: FeedListener<K, E>): Promise<Unsubscribe>;
  base(ref: Ref): Promise<FeedBase>;
  idOf(entry: E): string | null;
}

/** The entry of an entry event of a feed tagged `type`, or null for `resync`. */
export function entryOf<K extends string, E>(type: K, event: FeedEvent<K, E>): E | null {
  return event.type === 'resync' ? null : (event as { [P in K]: E })[type];
}

/** The feed's in-process announcements (memory stores): listeners per feed key, called synchronously. */
export class FeedFanOut<K extends string, E> {
  private readonly listeners = new Map<string, Set<{ listener: FeedListener<K, E> }>>();

  /** `type` tags every event this fan-out delivers (`message`, `change`, ...). */
  constructor(private readonly type: K) {}

  /** Returns the function that removes exactly this subscription (a listener may be added twice). */
  add(key: string, listener: FeedListener<K, E>): () => void {
    let set = this.listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(key, set);
    }
    const subscription = { listener };
    set.add(subscription);
    return () => {
      const current = this.listeners.get(key);
      if (current === undefined) return;
      current.delete(subscription);
      if (current.size === 0) this.listeners.delete(key);
    };
  }

  /**
   * Delivers `entry` to the listeners present when the announcement starts (one subscribed from
   * inside a listener starts with the next entry). `copy` gives each listener its own object, so one
   * listener cannot alter what another sees or what is stored. Listeners must not throw; one that
   * does must not break the mutation or the other listeners, and the store has no one to report it to.
   */
  announce(key: string, entry: E, copy: (entry: E) => E): void {
    const set = this.listeners.get(key);
    if (set === undefined) return;
    for (const { listener } of [...set]) {
      try {
        listener({ type: this.type, [this.type]: copy(entry) } as FeedEvent<K, E>);
      } catch {
        // see above
      }
    }
  }

  has(key: string): boolean {
    return this.listeners.has(key);
  }

  /** No feed has a listener: an announcement would find none (a store may then skip making its key). */
  get idle(): boolean {
    return this.listeners.size === 0;
  }

  clear(): void {
    this.listeners.clear();
  }
}

/**
 * How a live entry relates to what a follower of the feed already has:
 *   - `next`: the entry that follows (lastSeq + 1, or any higher seq before the base is known);
 *   - `old`: at or below lastSeq, the same entry as before (storage served it already): skip it;
 *   - `reused`: at or below lastSeq but another entry than the one that had that seq: the store
 *     renumbered (a failover lost entries already announced): the follower must resync;
 *   - `gap`: above lastSeq + 1: announcements were lost in transit: the follower must resync.
 */
export type SeqVerdict = 'next' | 'old' | 'reused' | 'gap';

/** How many recent seqs a position remembers the identity of, to notice a seq reused. */
const RECENT = 64;

/**
 * A follower's position in a feed: the last seq it has, the identities of the recent ones, and the
 * seq checks every follower of every feed uses (judge).
 */
export class FeedPosition {
  /** The last seq had (0: none yet). */
  lastSeq = 0;
  /** The identity of the entry at lastSeq (a message id), when the feed's entries have one. */
  lastId: string | null = null;
  /** True once a base was read: from then on live seqs must follow lastSeq one by one. */
  based = false;
  private readonly recentSeqs: number[] = [];
  private readonly recentIds: (string | null)[] = [];

  judge(seq: number, id: string | null = null): SeqVerdict {
    if (seq <= this.lastSeq) {
      const slot = seq % RECENT;
      return id !== null && this.recentSeqs[slot] === seq && this.recentIds[slot] !== id ? 'reused' : 'old';
    }
    return this.based && seq > this.lastSeq + 1 ? 'gap' : 'next';
  }

  /** Moves to `seq` (only ever up); false when it is not above lastSeq. */
  advance(seq: number, id: string | null = null): boolean {
    if (seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    this.lastId = id;
    const slot = seq % RECENT;
    this.recentSeqs[slot] = seq;
    this.recentIds[slot] = id;
    return true;
  }
}

/**
 * Whether `entries` (in order, all after `after`) continue `after` exactly up to `until`: seq + 1
 * each, no gap, ending at `until`. For feeds whose seq has no holes in storage (a call queue).
 */
export function continuesExactly(entries: readonly { seq: number }[], after: number, until: number): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i]!.seq !== after + 1 + i) return false;
  return (entries.length === 0 ? after : entries[entries.length - 1]!.seq) === until;
}
