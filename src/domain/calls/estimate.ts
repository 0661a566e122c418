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
    out.push({ free, tags: new Set(m.tags ?? []), penalty: Math.max(0, m.penalty ?? 0) });
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

/** Seconds until each waiting caller of `line` (in position order) is offered, rounded to 0.1 s; null: its pool is empty. */
export function estimateLine(line: readonly EstimateCaller[], input: EstimateInput): (number | null)[] {
  const all = servers(input);
  const cycle = Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds);
  const relaxMs = Math.max(0, input.relaxAfterSeconds ?? 0) * 1000;
  const queueTags = input.requiredTags ?? [];
  // Callers with the same required tags share a pool (and, with every tier open, a free-time sequence).
  const pools = new Map<string, Pool>();
  const queueOnly = [...new Set(queueTags)].sort();
  const queueOnlyKey = queueOnly.join('\u0000');
  const poolOf = (c: EstimateCaller): Pool => {
    // Most callers require no tag of their own: their tags are the queue's, sorted once above
    // (this runs per caller of a line of up to thousands, per push and per join).
    const own = c.requiredTags;
    const tags = own === undefined || own.length === 0 ? queueOnly : [...new Set([...queueTags, ...own])].sort();
    const key = tags === queueOnly ? queueOnlyKey : tags.join('\u0000');
    let pool = pools.get(key);
    if (pool === undefined) {
      const members = all.filter((s) => tags.every((t) => s.tags.has(t)));
      pool = { key, members, set: new Set(members), ahead: 0, sequence: null, shares: new Map() };
      pools.set(key, pool);
    }
    return pool;
  };
  const shares = (a: Pool, b: Pool): boolean => {
    let v = a.shares.get(b.key);
    if (v === undefined) {
      v = a.members.some((s) => b.set.has(s));
      a.shares.set(b.key, v);
    }
    return v;
  };
  const out: (number | null)[] = [];
  for (const c of line) {
    const pool = poolOf(c);
    if (pool.members.length === 0) {
      out.push(null);
      continue;
    }
    let k = 0;
    for (const other of pools.values()) if (other.ahead > 0 && shares(pool, other)) k += other.ahead;
    const opensAt = (s: Server): number =>
      relaxMs === 0 || c.createdMs === undefined ? 0 : Math.max(0, (c.createdMs + s.penalty * relaxMs - input.nowMs) / 1000);
    let t: number;
    if (pool.members.every((s) => opensAt(s) === 0)) {
      // Every tier open: the pool's free times, shared by every caller of the pool (popped once).
      pool.sequence ??= { heap: new MinHeap(pool.members.map((s) => s.free)), popped: [] };
      t = nth(pool.sequence, k, cycle);
    } else {
      t = nth({ heap: new MinHeap(pool.members.map((s) => Math.max(s.free, opensAt(s)))), popped: [] }, k, cycle);
    }
    out.push(Math.round(t * 10) / 10);
    pool.ahead++;
  }
  return out;
}

interface Pool {
  key: string;
  members: Server[];
  set: ReadonlySet<Server>;
  /** Callers of this pool seen so far (ahead of the one being estimated). */
  ahead: number;
  sequence: FreeSequence | null;
  shares: Map<string, boolean>;
}

/** The times servers become free, in order: each server taking `cycle` per caller after it is free. */
interface FreeSequence {
  heap: MinHeap;
  popped: number[];
}

/** The (k+1)-th (0-based k) time a server of the sequence is free. */
function nth(seq: FreeSequence, k: number, cycle: number): number {
  while (seq.popped.length <= k) {
    const t = seq.heap.pop();
    seq.popped.push(t);
    seq.heap.push(t + cycle);
  }
  return seq.popped[k]!;
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
