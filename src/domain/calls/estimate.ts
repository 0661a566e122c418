/**
 * Estimated wait per waiting caller (protocol/routing.md section 9): a pure function of the queue's
 * members, their skills and tiers, the waiting line, the callers on their way to a member, and the
 * queue's average handle and wrap-up times.
 *
 * The model: every logged-in, unpaused member is a server that becomes free at a known time —
 * now (available), after the rest of its call and its wrap-up (busy: max(0, H − elapsed) + W), after
 * the rest of its wrap-up (wrapup: max(0, W − elapsed)), or after a whole call (H + W) when a ringing
 * caller is on its way to it. A caller C may only be served by its **pool**: the servers holding every
 * tag the queue and C require, each from the time its tier opens for C (penalty × relax_after_seconds
 * after C joined). The callers ahead of C that **compete** with it are those whose own pool shares a
 * server with C's; C is offered at the (k+1)-th time one of its pool's servers is free (k: competing
 * callers ahead), each call taking H + W. An empty pool: no estimate (null).
 *
 * Why "shares a server" and not a finer split of the callers ahead between pools: it is the count that
 * keeps the estimate monotone (a caller ahead offered to one of C's servers was counted against C's
 * pool, so C's (k+1)-th free time cannot rise; see routing.md section 9 for the argument). It is
 * pessimistic where a caller ahead has other servers too.
 *
 * Monotone where it must be: with H and W fixed, as time passes or when a caller ahead leaves, is
 * offered (its member is then on its way: H + W), or a member finishes early, no caller's estimate
 * rises; only a join ahead (or a priority change ahead), a member leaving (removed, paused, logged
 * out), a change of skills or tiers (a member added, a tag given) or a change of H or W can raise it
 * (test/unit/estimate.test.ts checks this as a property, with tiers and skills).
 */
import type { MemberStatus } from '../../engine/call-types.js';

export interface EstimateMember {
  status: MemberStatus;
  paused: boolean;
  /** When it entered its status (ms). */
  statusAtMs: number;
  /** A ringing caller names it: it is about to take a call. */
  offered: boolean;
  /** Its agent's tags (skills); absent: none. */
  tags?: readonly string[];
  /** Its tier in the queue (routing's penalty); absent: 0. */
  penalty?: number;
  /**
   * Its agent is engaged by another queue (an offer, a call or a wrap-up there, routing.md
   * section 5): not free here for at least this many seconds. Absent: not engaged elsewhere.
   */
  engagedForSeconds?: number;
}

/** A waiting caller, in position order. */
export interface EstimateCaller {
  /** Its own required tags (routing.md section 1); absent: none. */
  requiredTags?: readonly string[];
  /** When it joined (ms): its tiers open from there. Absent: every tier is open. */
  createdMs?: number;
}

export interface EstimateInput {
  nowMs: number;
  /** Average handle time (connected to leaving), seconds. */
  handleSeconds: number;
  /** Wrap-up after a call, seconds. */
  wrapupSeconds: number;
  members: readonly EstimateMember[];
  /** The queue's required tags (routing); absent: none. */
  requiredTags?: readonly string[];
  /** Tier relaxation (routing's relax_after_seconds); absent or 0: every tier open at once. */
  relaxAfterSeconds?: number;
}

interface Server {
  free: number;
  tags: ReadonlySet<string>;
  penalty: number;
}

/** When each server is free, seconds from now; members that serve nobody are left out. */
export function serverFreeTimes(input: EstimateInput): number[] {
  return servers(input).map((s) => s.free);
}

const NO_TAGS: ReadonlySet<string> = new Set();

function servers(input: EstimateInput): Server[] {
  const h = Math.max(0, input.handleSeconds);
  const w = Math.max(0, input.wrapupSeconds);
  const out: Server[] = [];
  for (const m of input.members) {
    if (m.paused || m.status === 'logged_out') continue;
    const elapsed = Math.max(0, input.nowMs - m.statusAtMs) / 1000;
    let free: number;
    if (m.offered) free = h + w;
    else if (m.status === 'available') free = 0;
    else if (m.status === 'busy') free = Math.max(0, h - elapsed) + w;
    else free = Math.max(0, w - elapsed);
    if (m.engagedForSeconds !== undefined) free = Math.max(free, m.engagedForSeconds);
    out.push({ free, tags: m.tags === undefined || m.tags.length === 0 ? NO_TAGS : new Set(m.tags), penalty: Math.max(0, m.penalty ?? 0) });
  }
  return out;
}

/**
 * Seconds until each of the first `lineLength` waiting callers is offered (index = position),
 * rounded to 0.1 s, when nobody requires a tag and every tier is open; null when no member can serve.
 */
export function estimateWaits(lineLength: number, input: EstimateInput): (number | null)[] {
  return estimateLine(Array.from({ length: lineLength }, () => ({})), input);
}

/**
 * How the (k+1)-th free time of a pool is found: `rounds` (the default) walks the pool's free times
 * a round at a time where that gives the same times as the heap (see FreeTimes), `heap` always walks
 * them with a heap — the reference the rounds are tested against (test/unit/estimate-walk.test.ts).
 */
export type FreeTimeWalk = 'rounds' | 'heap';

/** Seconds until each waiting caller of `line` (in position order) is offered, rounded to 0.1 s; null: its pool is empty. */
export function estimateLine(line: readonly EstimateCaller[], input: EstimateInput, walk: FreeTimeWalk = 'rounds'): (number | null)[] {
  const model = new LineModel(input, walk);
  const out: (number | null)[] = [];
  for (const c of line) {
    const pool = model.poolOf(c.requiredTags);
    if (pool.members.length === 0) {
      out.push(null);
      continue;
    }
    out.push(model.offeredAt(pool, c.createdMs));
    pool.ahead++;
  }
  return out;
}

/** The callers ahead of a joining one: `count` of them, the first ones with their own required tags (in position order; past its end: none). */
export interface CallersAhead {
  count: number;
  requiredTags: Iterable<readonly string[] | undefined>;
}

/**
 * The estimate of `caller` behind `ahead`: `estimateLine([...ahead, caller], input).at(-1)`, without
 * estimating the callers ahead (a join's estimate, per join: only its pools and their counts).
 */
export function estimateBehind(ahead: CallersAhead, caller: EstimateCaller, input: EstimateInput, walk: FreeTimeWalk = 'rounds'): number | null {
  const model = new LineModel(input, walk);
  let seen = 0;
  for (const tags of ahead.requiredTags) {
    if (seen === ahead.count) break;
    model.poolOf(tags).ahead++;
    seen++;
  }
  model.poolOf(undefined).ahead += ahead.count - seen;
  const pool = model.poolOf(caller.requiredTags);
  return pool.members.length === 0 ? null : model.offeredAt(pool, caller.createdMs);
}

/** One line's pools: callers with the same required tags share one (and, every tier open, its free times). */
class LineModel {
  private readonly all: Server[];
  private readonly cycle: number;
  private readonly relaxMs: number;
  private readonly queueTags: readonly string[];
  private readonly queueOnly: string[];
  private readonly queueOnlyKey: string;
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly input: EstimateInput,
    private readonly walk: FreeTimeWalk,
  ) {
    this.all = servers(input);
    this.cycle = Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds);
    this.relaxMs = Math.max(0, input.relaxAfterSeconds ?? 0) * 1000;
    this.queueTags = input.requiredTags ?? [];
    this.queueOnly = [...new Set(this.queueTags)].sort();
    this.queueOnlyKey = this.queueOnly.join('\u0000');
  }

  poolOf(own: readonly string[] | undefined): Pool {
    // Most callers require no tag of their own: their tags are the queue's, sorted once above
    // (this runs per caller of a line of up to thousands, per push and per join).
    const tags = own === undefined || own.length === 0 ? this.queueOnly : [...new Set([...this.queueTags, ...own])].sort();
    const key = tags === this.queueOnly ? this.queueOnlyKey : tags.join('\u0000');
    let pool = this.pools.get(key);
    if (pool === undefined) {
      const members = tags.length === 0 ? this.all : this.all.filter((s) => tags.every((t) => s.tags.has(t)));
      let lastTier = members[0];
      for (const s of members) if (s.penalty > lastTier!.penalty) lastTier = s;
      pool = { key, members, set: null, lastTier, ahead: 0, sequence: null, shares: new Map() };
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** When a caller of `pool` that joined at `createdMs` is offered, behind the callers counted ahead so far. */
  offeredAt(pool: Pool, createdMs: number | undefined): number {
    let k = 0;
    for (const other of this.pools.values()) if (other.ahead > 0 && this.shares(pool, other)) k += other.ahead;
    const { relaxMs, input } = this;
    const opensAt = (s: Server): number =>
      relaxMs === 0 || createdMs === undefined ? 0 : Math.max(0, (createdMs + s.penalty * relaxMs - input.nowMs) / 1000);
    // Every tier open for this caller (a server's tier opens later the higher its penalty, so the
    // highest is the last): the pool's free times, shared by every caller of the pool.
    let t: number;
    if (opensAt(pool.lastTier!) === 0) {
      pool.sequence ??= new FreeTimes(pool.members.map((s) => s.free), this.cycle, this.walk);
      t = pool.sequence.at(k);
    } else {
      t = new FreeTimes(pool.members.map((s) => Math.max(s.free, opensAt(s))), this.cycle, this.walk).at(k);
    }
    return Math.round(t * 10) / 10;
  }

  private shares(a: Pool, b: Pool): boolean {
    if (a === b) return true;
    let v = a.shares.get(b.key);
    if (v === undefined) {
      b.set ??= new Set(b.members);
      const set = b.set;
      v = a.members.some((s) => set.has(s));
      a.shares.set(b.key, v);
    }
    return v;
  }
}

interface Pool {
  key: string;
  members: Server[];
  /** Its members as a set, made when a pool is first compared with it. */
  set: ReadonlySet<Server> | null;
  /** A member of its highest penalty (tier): the last to open; undefined: no member. */
  lastTier: Server | undefined;
  /** Callers of this pool seen so far (ahead of the one being estimated). */
  ahead: number;
  sequence: FreeTimes | null;
  shares: Map<string, boolean>;
}

/**
 * The times a pool's servers become free, in order (each server taking `cycle` per caller after it
 * is free): the sorted union of the sequences f_i, f_i + c, f_i + c + c, …
 *
 * When the free times span no more than one cycle (the common case: every member is free within
 * H + W from now), the union is simply round after round: the sorted f_i, then each + c, and so on,
 * so the (k+1)-th time is the (k mod n)-th of round ⌊k/n⌋ — O(k/n) additions, no heap. Each time is
 * built by the same additions the heap makes (t, then t + c), and each round is checked to end no
 * later than the next one starts, so the times are the heap's to the last bit; where a check fails
 * (a member engaged elsewhere for longer than a cycle, a tier opening later), the walk falls back to
 * the heap.
 */
class FreeTimes {
  /** The free times, ascending (round 0). */
  private readonly sorted: Float64Array;
  /** Per rank r in a round: the time last computed for it and its round (walked on from there). */
  private readonly value: Float64Array;
  private readonly round: Float64Array;
  /** The first and last time of round `ordered`; rounds 0..ordered follow each other in order. */
  private lo: number;
  private hi: number;
  private ordered = 0;
  private heap: { heap: MinHeap; popped: number[] } | null = null;

  constructor(
    private readonly frees: number[],
    private readonly cycle: number,
    walk: FreeTimeWalk,
  ) {
    this.sorted = Float64Array.from(frees).sort();
    this.value = this.sorted.slice();
    this.round = new Float64Array(frees.length);
    this.lo = this.sorted[0]!;
    this.hi = this.sorted[frees.length - 1]!;
    if (walk === 'heap' || !frees.every(Number.isFinite) || !Number.isFinite(cycle)) this.heap = { heap: new MinHeap(frees), popped: [] };
  }

  /** The (k+1)-th (0-based k) time a server is free. */
  at(k: number): number {
    if (this.heap === null) {
      const n = this.sorted.length;
      const j = Math.floor(k / n);
      // Round j ends no later than round j + 1 starts: every time of later rounds is at least as
      // late (each server's own times only grow), so rounds 0..j in turn are the union's first times.
      while (this.ordered <= j && this.hi <= this.lo + this.cycle) {
        this.lo += this.cycle;
        this.hi += this.cycle;
        this.ordered++;
      }
      if (this.ordered > j) {
        const r = k - j * n;
        let t = this.value[r]!;
        let at = this.round[r]!;
        if (at > j) {
          t = this.sorted[r]!;
          at = 0;
        }
        for (; at < j; at++) t += this.cycle;
        this.value[r] = t;
        this.round[r] = at;
        return t;
      }
      this.heap = { heap: new MinHeap(this.frees), popped: [] };
    }
    const seq = this.heap;
    while (seq.popped.length <= k) {
      const t = seq.heap.pop();
      seq.popped.push(t);
      seq.heap.push(t + this.cycle);
    }
    return seq.popped[k]!;
  }
}

class MinHeap {
  private readonly a: number[];
  constructor(values: number[]) {
    this.a = [];
    for (const v of values) this.push(v);
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** Handle time to use when the queue has none measured yet (no call ended in the last hour or today). */
export const DEFAULT_HANDLE_SECONDS = 180;
