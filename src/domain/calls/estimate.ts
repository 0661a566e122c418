/**
 * Estimated wait per waiting caller (protocol/routing.md section 9): a pure function of the queue's
 * members, their skills and tiers, the waiting line, the callers on their way to a member, and the
 * queue's average handle (H) and wrap-up (W) times.
 *
 * The model, in one line: a caller with k competing callers ahead is offered when its pool has had
 * k + 1 chances to offer — counted as N(t), the pool's capacity, and read at its median.
 *
 * - Servers: every logged-in, unpaused member. One free of calls counts once when it is free (now
 *   when available, at its wrap-up's end). Every server ends calls at a rate of 1 / (H + W): a
 *   busy one from now (handle times taken as exponential, as Erlang C does: what remains of a call
 *   does not shrink as it lasts, so a call past the average is not about to end; n busy servers
 *   end one call every (H + W) / n on average), a free one after the call it takes.
 * - Pools: caller C's pool is the servers holding every tag the queue and C require; a server of
 *   penalty p counts for C only from when its tier opens (p × relax_after_seconds after C joined).
 *   A member engaged by another queue counts only when the pool has no other (see Server).
 * - Competing callers ahead: those whose pool shares a server with C's.
 * - Callers ahead who give up: each waiting caller gives up at a rate θ per second (giveUpRateFrom:
 *   the queue's recent abandons and timeouts over the time its callers waited), so the callers still
 *   ahead thin out as the wait goes on: a call ending t seconds from now counts e^(θt) (the line it
 *   serves has shrunk by that factor since); a free server still takes one.
 * - The estimate: the time N(t) reaches k + 2/3 (MEDIAN_SHARE), rounded to 0.1 s; empty pool: null.
 *
 * Why counting "shares a server" and not a finer split of the callers ahead between pools: it is
 * the count that keeps the estimate monotone (a caller ahead offered to one of C's servers was
 * counted against C's pool, and the server's count falls by exactly one as k does). It is
 * pessimistic where a caller ahead has other servers too.
 *
 * Monotone where it must be: with H, W and s fixed, as time passes or when a caller ahead leaves, is
 * offered, or a member answers, ends a call or a wrap-up, no caller's estimate rises; only a join
 * ahead (or a priority change ahead), a member leaving (removed, paused, logged out, engaged by
 * another queue), a change of skills or tiers, or a change of H or W can raise it
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
   * section 5). Absent: no.
   */
  engagedElsewhere?: boolean;
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
  /**
   * θ, the rate at which a waiting caller gives up (abandons or times out), per second
   * (giveUpRateFrom): a call ending t seconds from now counts e^(θt) callers. Absent: 0.
   */
  giveUpRate?: number;
}

interface Server {
  /**
   * When it is free with no call (seconds from now), or null: on a call or on its way to one, so
   * only its calls' ends count (estimateLine).
   */
  free: number | null;
  /**
   * Its agent is engaged by another queue (an offer, a call or a wrap-up there). When that ends,
   * that queue decides first (routing.md section 5), so such a server counts for a caller only
   * when its pool has no other (then as one on a call): estimateLine.
   */
  elsewhere: boolean;
  tags: ReadonlySet<string>;
  penalty: number;
}

/**
 * When each server is first expected free, seconds from now (members that serve nobody are left
 * out): a free one now or at its wrap-up's end; one on a call, H + W from now (what remains of a
 * call does not shrink as it lasts: estimateLine).
 */
export function serverFreeTimes(input: EstimateInput): number[] {
  const cycle = Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds);
  return servers(input).map((s) => s.free ?? cycle);
}

/** The tags of every member that has none (most): one set, not one per member per estimate. */
const NO_TAGS: ReadonlySet<string> = new Set();

function servers(input: EstimateInput): Server[] {
  const w = Math.max(0, input.wrapupSeconds);
  const out: Server[] = [];
  for (const m of input.members) {
    if (m.paused || m.status === 'logged_out') continue;
    const elsewhere = m.engagedElsewhere === true;
    let free: number | null;
    if (m.offered || m.status === 'busy' || elsewhere) free = null;
    else if (m.status === 'available') free = 0;
    else free = Math.max(0, w - Math.max(0, input.nowMs - m.statusAtMs) / 1000);
    out.push({ free, elsewhere, tags: m.tags === undefined || m.tags.length === 0 ? NO_TAGS : new Set(m.tags), penalty: Math.max(0, m.penalty ?? 0) });
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
  const model = new LineModel(input);
  const out: (number | null)[] = [];
  for (const c of line) {
    const pool = model.poolOf(c.requiredTags);
    if (pool.members.length === 0) {
      out.push(null);
      continue;
    }
    out.push(tenths(model.offeredAt(pool, c.createdMs)));
    pool.ahead++;
  }
  return out;
}

/**
 * Seconds rounded to 0.1 s, through microseconds first: two states the model holds equal (a free member
 * offered the caller ahead: one server and one caller fewer) reach the same time by different sums, and
 * float noise of 1e-13 s must not round one to x.x5 - ε and the other to x.x5 + ε (an estimate rising by 0.1 s).
 */
function tenths(seconds: number): number {
  return Math.round(Math.round(seconds * 1e6) / 1e5) / 10;
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
export function estimateBehind(ahead: CallersAhead, caller: EstimateCaller, input: EstimateInput): number | null {
  const model = new LineModel(input);
  let seen = 0;
  for (const tags of ahead.requiredTags) {
    if (seen === ahead.count) break;
    model.poolOf(tags).ahead++;
    seen++;
  }
  model.poolOf(undefined).ahead += ahead.count - seen;
  const pool = model.poolOf(caller.requiredTags);
  return pool.members.length === 0 ? null : tenths(model.offeredAt(pool, caller.createdMs));
}

/** One line's pools: callers with the same required tags share one (and, every tier open, a capacity curve). */
class LineModel {
  private readonly all: Server[];
  private readonly cycle: number;
  private readonly theta: number;
  private readonly relaxMs: number;
  private readonly queueTags: readonly string[];
  private readonly queueOnly: string[];
  private readonly queueOnlyKey: string;
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly input: EstimateInput) {
    this.all = servers(input);
    this.cycle = Math.max(MIN_CYCLE, Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds));
    // Callers ahead who give up leave the line between call ends (Capacity).
    const theta = input.giveUpRate ?? 0;
    this.theta = theta > 0 ? Math.min(MAX_GIVE_UP_RATE, theta) : 0;
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
      const able = tags.length === 0 ? this.all : this.all.filter((s) => tags.every((t) => s.tags.has(t)));
      const own = able.filter((s) => !s.elsewhere);
      const members = own.length > 0 ? own : able;
      let top = 0;
      for (const m of members) top = Math.max(top, m.penalty);
      pool = { key, members, set: new Set(members), topPenalty: top, ahead: 0, open: null, shares: new Map() };
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Seconds until a caller of `pool` that joined at `createdMs` is offered, behind the callers counted so far. */
  offeredAt(pool: Pool, createdMs: number | undefined): number {
    let k = 0;
    for (const other of this.pools.values()) if (other.ahead > 0 && this.shares(pool, other)) k += other.ahead;
    const { relaxMs, input } = this;
    const opensAt = (s: Server): number =>
      relaxMs === 0 || createdMs === undefined ? 0 : Math.max(0, (createdMs + s.penalty * relaxMs - input.nowMs) / 1000);
    let curve: Capacity;
    // A tier opens later the higher its penalty: every tier is open when the highest is.
    if (relaxMs === 0 || createdMs === undefined || createdMs + pool.topPenalty * relaxMs <= input.nowMs) {
      // Every tier open: one curve for every caller of the pool.
      pool.open ??= new Capacity(pool.members, () => 0, this.cycle, this.theta);
      curve = pool.open;
    } else {
      curve = new Capacity(pool.members, opensAt, this.cycle, this.theta);
    }
    return curve.reaches(k + MEDIAN_SHARE);
  }

  private shares(a: Pool, b: Pool): boolean {
    let v = a.shares.get(b.key);
    if (v === undefined) {
      v = a === b || a.members.some((s) => b.set.has(s));
      a.shares.set(b.key, v);
    }
    return v;
  }
}

/**
 * The caller is offered at the (k+1)-th call end of its pool counted from now; with calls ending
 * at random (rate n / cycle), the time of that end is spread around its mean (k+1)·cycle/n, and
 * its median — the time half the callers in that place are offered by, the one an estimate should
 * say, so as to be as often early as late — is at about k + 2/3 ends (the median of a Gamma
 * distribution of shape k+1: ln 2 ≈ 0.69 for the first end, within 1% after).
 */
const MEDIAN_SHARE = 2 / 3;

/** Below this (seconds), a call-and-wrap-up cycle is taken as this: no pool serves infinitely fast. */
const MIN_CYCLE = 0.1;

/** θ above this (per second: a caller giving up within a second on average) is taken as this. */
const MAX_GIVE_UP_RATE = 1;

interface Pool {
  key: string;
  members: Server[];
  set: ReadonlySet<Server>;
  /** Its members' highest penalty (the last tier to open). */
  topPenalty: number;
  /** Callers of this pool seen so far (ahead of the one being estimated). */
  ahead: number;
  /** The pool's capacity with every tier open (shared by its callers). */
  open: Capacity | null;
  shares: Map<string, boolean>;
}

/**
 * N(t), how many callers a pool can have offered by t seconds from now (estimateLine), and its
 * inverse. For each server, from its tier's opening `o` for the caller: its calls end at 1 / cycle
 * per second, a call ending at u counting e^(θu) callers (the callers ahead give up at θ each, so
 * by u the line left is e^(−θu) of what it was: each end moves it e^(θu) times as far; θ = 0: 1);
 * and a free one (no call) counts once more when it is free, at max(o, w) for a wrap-up ending at
 * w, by 1 − (w − o) / cycle (what the wrap-up holds it back; 1 when free now). So a free server
 * never counts less than one on a call, nor a wrap-up more than a free one. Steps are not weighted
 * by θ: a step moving earlier (a wrap-up running down) must never count less.
 */
class Capacity {
  /** In time order: at `at`, `step` more at once and `rate` more servers ending calls. */
  private readonly points: { at: number; step: number; rate: number }[];

  constructor(
    members: readonly Server[],
    opensAt: (s: Server) => number,
    private readonly cycle: number,
    private readonly theta: number,
  ) {
    const byTime = new Map<number, { at: number; step: number; rate: number }>();
    const point = (at: number) => {
      let p = byTime.get(at);
      if (p === undefined) {
        p = { at, step: 0, rate: 0 };
        byTime.set(at, p);
      }
      return p;
    };
    for (const s of members) {
      const o = opensAt(s);
      point(o).rate++;
      // Never below 0: a wrap-up may be longer than H + W (W changed since it began).
      if (s.free !== null) point(Math.max(o, s.free)).step += Math.max(0, 1 - Math.max(0, s.free - o) / cycle);
    }
    this.points = [...byTime.values()].sort((a, b) => a.at - b.at);
  }

  /** Where the last reaches() stopped: the points before `i` are counted (n at t, rate after). */
  private at = { i: 0, n: 0, rate: 0, t: 0, m: 0 };

  /**
   * The earliest time (seconds from now) N reaches `m` (m > 0; the pool is not empty). A line asks
   * for rising `m` on one curve: each call goes on from where the last stopped, so a line of L
   * callers costs one walk of the curve, not L.
   */
  reaches(m: number): number {
    if (m < this.at.m) this.at = { i: 0, n: 0, rate: 0, t: 0, m: 0 };
    this.at.m = m;
    let { i, n, rate, t } = this.at;
    if (n >= m - EPSILON) return t;
    try {
      for (; i < this.points.length; i++) {
        const p = this.points[i]!;
        const before = n + this.ends(rate, t, p.at);
        if (before >= m) return this.after(rate, t, m - n);
        n = before + p.step;
        rate += p.rate;
        t = p.at;
        if (n >= m - EPSILON) {
          i++;
          return t;
        }
      }
      return this.after(rate, t, m - n);
    } finally {
      this.at = { i, n, rate, t, m };
    }
  }

  /** What `rate` servers' call ends count from t1 to t2: (rate / cycle) ∫ e^(θu) du. */
  private ends(rate: number, t1: number, t2: number): number {
    if (rate === 0 || t2 <= t1) return 0;
    const { theta, cycle } = this;
    if (theta === 0) return (rate * (t2 - t1)) / cycle;
    return ((rate / cycle) * Math.exp(theta * t1) * Math.expm1(theta * (t2 - t1))) / theta;
  }

  /** The time from t1 at which `rate` servers' call ends have counted `need` (ends' inverse). */
  private after(rate: number, t1: number, need: number): number {
    const { theta, cycle } = this;
    if (theta === 0) return t1 + (need * cycle) / rate;
    return t1 + Math.log1p((need * cycle * theta) / (rate * Math.exp(theta * t1))) / theta;
  }
}

/** Sums of fractions: a count this close to a whole one is that one. */
const EPSILON = 1e-9;

/**
 * H from one window's figures (routing.md section 9): the handle time of the calls that ended in
 * it, plus the time the calls still in progress have lasted so far (each at most
 * RUNNING_CAP_SECONDS), per call ended — exponential handle times' estimate with calls in progress
 * counted. The average of ended calls alone is short while the window is young (the first calls to
 * end are the short ones: the start of a day, after a restart); counting what is running corrects
 * it, and adds next to nothing once the window holds many calls. Null: no call ended.
 */
export function handleSecondsFrom(averageSeconds: number | null, ended: number, runningSeconds: readonly number[]): number | null {
  if (ended <= 0 || averageSeconds === null) return null;
  let running = 0;
  for (const r of runningSeconds) running += Math.min(RUNNING_CAP_SECONDS, Math.max(0, r));
  return (averageSeconds * ended + running) / ended;
}

/**
 * θ, the rate at which a waiting caller gives up (abandons or times out), per second, from a
 * window's leaves: `answered` served after waiting `waitSeconds` on average (the window's average
 * speed of answer), `gaveUp` abandoned or timed out. Each caller that waited gave up at θ per second
 * of its wait (patience taken as exponential, as the callers' time already waited does not change
 * it), so θ = gaveUp ÷ the time they all waited, taken as (answered + gaveUp + 10) × waitSeconds
 * (STAY_PRIOR_ANSWERED: a window's first few leaves do not swing it). Null when the window has no
 * leave, or no answered caller's wait to go by. Without it, a busy hour with abandons overestimated
 * the wait of every caller with a caller ahead who then hung up (bench contact-centre: +7.6 s
 * median bias for those in a surge), and a fixed share of them (s, before) still told the surge's
 * deepest places several seconds too long: the longer a wait, the more of the line ahead gives up.
 */
export function giveUpRateFrom(answered: number, gaveUp: number, waitSeconds: number | null): number | null {
  const total = answered + gaveUp;
  if (!(total > 0)) return null;
  if (gaveUp <= 0) return 0;
  if (waitSeconds === null || !(waitSeconds > 0)) return null;
  return gaveUp / ((total + STAY_PRIOR_ANSWERED) * waitSeconds);
}

/**
 * Answered callers assumed beyond a window's own, so that its first few leaves do not swing θ (one
 * abandon and one quick answer would otherwise make every caller ahead give up at once); next to
 * nothing on a busy queue.
 */
const STAY_PRIOR_ANSWERED = 10;

/** A call in progress counts toward H for at most this long (a member left busy by a lost hang-up). */
export const RUNNING_CAP_SECONDS = 3600;

/** Handle time to use when the queue has none measured yet (no call ended in the last hour or today). */
export const DEFAULT_HANDLE_SECONDS = 180;
