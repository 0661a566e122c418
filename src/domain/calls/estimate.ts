/**
 * Estimated wait per waiting caller (protocol/routing.md section 9): a pure function of the queue's
 * members, their skills and tiers, the waiting line, the callers on their way to a member, and the
 * queue's average handle (H) and wrap-up (W) times.
 *
 * The model, in one line: a caller with k competing callers ahead is offered when its pool has
 * served k + 1 of them in line order — counted as S(t), what its servers' capacity serves of the
 * line as their tiers open to its callers (Line), and read at its median.
 *
 * - Servers: every logged-in, unpaused member. One free of calls counts once when it is free (now
 *   when available, at its wrap-up's end). Every server ends calls at a rate of 1 / (H + W): a
 *   busy one from now (handle times taken as exponential, as Erlang C does: what remains of a call
 *   does not shrink as it lasts, so a call past the average is not about to end; n busy servers
 *   end one call every (H + W) / n on average), a free one after the call it takes.
 * - Pools: caller C's pool is the servers holding every tag the queue and C require. A member
 *   engaged by another queue counts only when the pool has no other (see Server).
 * - Competing callers ahead: those whose pool shares a server with C's, in line order.
 * - Tiers: a server of penalty p may take a caller from p × relax_after_seconds after that caller
 *   joined; it serves the first competing caller it may take, so the callers ahead whose tier opens
 *   before C's take the higher tiers' servers first, and what a tier does while it is open to
 *   nobody waits (a free server stays free) for the first caller it opens to (Line).
 * - Callers ahead who give up: each waiting caller gives up at a rate θ per second (giveUpRateFrom:
 *   the queue's recent abandons and timeouts over the time its callers waited), so the callers still
 *   ahead thin out as the wait goes on: a call ending t seconds from now counts e^(θt) (the line it
 *   serves has shrunk by that factor since); a free server still takes one.
 * - The estimate: the time S(t) reaches k + 2/3 (MEDIAN_SHARE), rounded to 0.1 s; empty pool: null.
 *
 * Why counting "shares a server" and not a finer split of the callers ahead between pools: it is
 * the count that keeps the estimate monotone (a caller ahead offered to one of C's servers was
 * counted against C's pool, and the server's count falls by exactly one as k does). It is
 * pessimistic where a caller ahead has other servers too.
 *
 * Monotone where it must be: with H, W and θ fixed, as time passes or when a caller ahead leaves, is
 * offered, or a member answers, ends a call or a wrap-up, no caller's estimate rises; only a join
 * ahead (or a priority change ahead), a member leaving (removed, paused, logged out, engaged by
 * another queue), a change of skills or tiers, or a change of H, W or θ can raise it
 * (test/unit/estimate.test.ts checks this as a property, with tiers and skills). One exception is
 * routing's own, not the model's: routing gives the head caller its lowest open tier, so a member
 * of a lower tier coming free sooner (a wrap-up ended early) can take the caller a higher tier's
 * member would have taken, and a caller behind then waits for that tier to open to it. Its actual
 * wait rises, and an estimate that follows routing must rise with it (routing.md section 9 gives
 * the example; one that never rose would have to be that much too long before).
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
    out.push(pool.members.length === 0 ? null : tenths(model.offeredAt(pool, c.createdMs)));
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

/**
 * The callers ahead of a joining one: `count` of them, the first ones with their own required tags
 * (in position order; past its end: none) and when they joined (`createdMs`, in the same order;
 * absent or past its end: not known, every tier open to them).
 */
export interface CallersAhead {
  count: number;
  requiredTags: Iterable<readonly string[] | undefined>;
  createdMs?: Iterable<number | undefined>;
}

/**
 * The estimate of `caller` behind `ahead`: `estimateLine([...ahead, caller], input).at(-1)`, without
 * estimating the callers ahead (a join's estimate, per join: only its pools and their counts).
 */
export function estimateBehind(ahead: CallersAhead, caller: EstimateCaller, input: EstimateInput): number | null {
  const model = new LineModel(input);
  const created = ahead.createdMs?.[Symbol.iterator]();
  let seen = 0;
  for (const tags of ahead.requiredTags) {
    if (seen === ahead.count) break;
    model.add(model.poolOf(tags), created?.next().value);
    seen++;
  }
  const plain = model.poolOf(undefined);
  for (; seen < ahead.count; seen++) model.add(plain, created?.next().value);
  const pool = model.poolOf(caller.requiredTags);
  return pool.members.length === 0 ? null : tenths(model.offeredAt(pool, caller.createdMs));
}

/**
 * One line's pools: callers with the same required tags share one. Each pool that has been asked
 * for an estimate keeps its Line: the callers so far that compete with its callers (their pool
 * shares a server with it), in position order, served by its servers (Line).
 */
class LineModel {
  private readonly all: Server[];
  private readonly cycle: number;
  private readonly theta: number;
  private readonly relaxMs: number;
  private readonly queueTags: readonly string[];
  private readonly queueOnly: string[];
  private readonly queueOnlyKey: string;
  private readonly pools = new Map<string, Pool>();
  /** The callers counted so far (ahead of the next one), in position order. */
  private readonly seen: { pool: Pool; createdMs: number | undefined; n: number }[] = [];

  constructor(private readonly input: EstimateInput) {
    this.all = servers(input);
    this.cycle = Math.max(MIN_CYCLE, Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds));
    // Callers ahead who give up leave the line between call ends (Line.ends).
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
      pool = { key, members, set: new Set(members), line: null, shares: new Map() };
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Counts a caller of `pool` that joined at `createdMs` as ahead of those that come after it. */
  add(pool: Pool, createdMs: number | undefined): void {
    if (pool.members.length === 0) return;
    // Runs of callers of one pool with one join time (a line read without join times: one run).
    const last = this.seen[this.seen.length - 1];
    if (last !== undefined && last.pool === pool && last.createdMs === createdMs) last.n++;
    else this.seen.push({ pool, createdMs, n: 1 });
    for (const other of this.pools.values()) if (other.line !== null && this.shares(other, pool)) other.line.push(createdMs);
  }

  /**
   * Seconds until a caller of `pool` that joined at `createdMs` is offered, behind the callers
   * counted so far; then counts it (add).
   */
  offeredAt(pool: Pool, createdMs: number | undefined): number {
    if (pool.line === null) {
      const line = new Line(pool.members, this.cycle, this.theta, this.relaxMs, this.input.nowMs);
      for (const c of this.seen) if (this.shares(pool, c.pool)) line.push(c.createdMs, c.n);
      pool.line = line;
    }
    this.add(pool, createdMs);
    return pool.line.reaches(pool.line.count - 1 + MEDIAN_SHARE);
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
  /** The competing callers so far and how its servers serve them; null until one of its callers is estimated. */
  line: Line | null;
  shares: Map<string, boolean>;
}

/**
 * One pool's servers serving its competing callers in position order (estimateLine), as routing
 * does: a server may take the first caller whose tier is open to it — `p × relax_after_seconds`
 * after that caller joined, for a server of penalty p — and no caller is passed over for a younger
 * one (a caller's tier opens, here, when the latest-joined caller up to it in the line has its tier
 * open: one older behind a younger, a priority's doing, waits for the younger's).
 *
 * What each tier's servers can do, counted from now, is a capacity (as N(t) before tiers): its calls
 * end at 1 / cycle per second per server, a call ending at u counting e^(θu) callers (the callers
 * ahead give up at θ each, so by u the line left is e^(−θu) of what it was: each end moves it e^(θu)
 * times as far; θ = 0: 1); and a free server (no call) counts once more when it is free, at w for a
 * wrap-up ending at w, by 1 − w / cycle (what the wrap-up holds it back; 1 when free now). So a free
 * server never counts less than one on a call, nor a wrap-up more than a free one. Steps are not
 * weighted by θ: a step moving earlier (a wrap-up running down) must never count less.
 *
 * S(t), the callers served by t (fractions: expected values), rises by what the tiers open to the
 * first caller not yet served bring; what a tier brings while it is not open to that caller waits
 * (a free server, or one whose call ended, stays free) and is taken at once when it opens. The
 * caller at place k is offered when S reaches k + 2/3 (MEDIAN_SHARE). Without tiers (or every tier
 * open) S is the sum of the capacities, the model before tiers were counted this way: the callers
 * ahead whose tier opens before this one's take the higher tiers' servers first, which the model
 * before left to each caller's own opening (bench contact-centre: the steady stretch's callers past
 * 30 s, and most of the surge's, were told several seconds too long).
 */
class Line {
  /** Penalties, lowest first, each with its capacity's points in time order and what has been read of them. */
  private readonly tiers: { penalty: number; points: { at: number; step: number; rate: number }[]; next: number; rate: number; waiting: number }[];
  /** Per competing caller counted, when it joined or, when later, the latest one before it (ms; −Infinity: not known). */
  private readonly joined: number[] = [];
  private t = 0;
  private served = 0;
  /** Callers fully served (S's whole part, the first caller not yet served). */
  private head = 0;
  /**
   * Every tier is open to every caller (no relaxation, or no server above penalty 0): a caller's
   * turn changes no rate, so reaches() goes from point to point, not caller by caller (a line of a
   * thousand callers is a few steps, not a thousand).
   */
  private readonly allOpen: boolean;
  /** allOpen: the competing callers counted (their join times are not kept). */
  private counted = 0;

  constructor(
    members: readonly Server[],
    private readonly cycle: number,
    private readonly theta: number,
    private readonly relaxMs: number,
    private readonly nowMs: number,
  ) {
    const byPenalty = new Map<number, Map<number, { at: number; step: number; rate: number }>>();
    for (const s of members) {
      // Without relaxation every tier is open to every caller: one capacity.
      const penalty = relaxMs === 0 ? 0 : s.penalty;
      let byTime = byPenalty.get(penalty);
      if (byTime === undefined) {
        byTime = new Map();
        byPenalty.set(penalty, byTime);
      }
      const point = (at: number) => {
        let p = byTime.get(at);
        if (p === undefined) {
          p = { at, step: 0, rate: 0 };
          byTime.set(at, p);
        }
        return p;
      };
      point(0).rate++;
      // Never below 0: a wrap-up may be longer than H + W (W changed since it began).
      if (s.free !== null) point(s.free).step += Math.max(0, 1 - s.free / cycle);
    }
    this.tiers = [...byPenalty]
      .sort((a, b) => a[0] - b[0])
      .map(([penalty, byTime]) => ({ penalty, points: [...byTime.values()].sort((a, b) => a.at - b.at), next: 0, rate: 0, waiting: 0 }));
    this.allOpen = relaxMs === 0 || this.tiers.every((x) => x.penalty === 0);
    this.reach(0);
  }

  /** Competing callers counted so far. */
  get count(): number {
    return this.allOpen ? this.counted : this.joined.length;
  }

  /** Counts the next competing caller, joined at `createdMs` (absent: not known). */
  push(createdMs: number | undefined, n = 1): void {
    // allOpen: no tier waits for a caller's join time, so only their number is kept.
    if (this.allOpen) {
      this.counted += n;
      return;
    }
    const last = this.joined.length === 0 ? -Infinity : this.joined[this.joined.length - 1]!;
    const at = createdMs === undefined ? last : Math.max(last, createdMs);
    for (let i = 0; i < n; i++) this.joined.push(at);
  }

  /** Seconds from now when tier `penalty` opens to the `i`-th caller. */
  private opens(i: number, penalty: number): number {
    // Past the callers counted (never asked: a place is asked only once counted): every tier open.
    if (this.allOpen) return 0;
    const joined = this.joined[i] ?? -Infinity;
    if (this.relaxMs === 0 || joined === -Infinity) return 0;
    return Math.max(0, (joined + penalty * this.relaxMs - this.nowMs) / 1000);
  }

  /**
   * The earliest time (seconds from now) S reaches `m` (the callers up to m's place counted). Each
   * call goes on from the last event it passed (a tier's point, a tier opening to the first caller
   * not yet served, that caller served), never from its own answer, so the line's callers asked
   * one by one (estimateLine) and the last one alone (estimateBehind) reach the same figures.
   */
  reaches(m: number): number {
    for (;;) {
      this.take();
      if (this.served >= m - EPSILON) return this.t;
      const { t, head } = this;
      let rate = 0;
      let next = Infinity;
      for (const tier of this.tiers) {
        if (tier.next < tier.points.length) next = Math.min(next, tier.points[tier.next]!.at);
        const o = this.opens(head, tier.penalty);
        if (o <= t) rate += tier.rate;
        else next = Math.min(next, o);
      }
      // A caller's turn is an event only where it may open a tier (allOpen: none).
      const done = rate > 0 && !this.allOpen ? this.after(rate, t, head + 1 - this.served) : Infinity;
      if (rate > 0) {
        const at = this.after(rate, t, m - this.served);
        if (at <= next && at <= done) return at;
      }
      const to = Math.min(next, done);
      if (!(to < Infinity)) return Infinity;
      for (const tier of this.tiers) if (this.opens(head, tier.penalty) > t) tier.waiting += this.ends(tier.rate, t, to);
      if (to === done) {
        this.served = head + 1;
        this.head = head + 1;
      } else {
        this.served += this.ends(rate, t, to);
        // allOpen: the callers this stretch served in full are behind the head (take() serves from it).
        if (this.allOpen) this.head = Math.min(this.count, Math.max(this.head, Math.floor(this.served + EPSILON)));
      }
      this.reach(to);
    }
  }

  /** Moves to `t`, reading every tier's points up to it (more servers ending calls, free ones waiting). */
  private reach(t: number): void {
    this.t = t;
    for (const tier of this.tiers) {
      for (; tier.next < tier.points.length && tier.points[tier.next]!.at <= t; tier.next++) {
        const p = tier.points[tier.next]!;
        tier.rate += p.rate;
        tier.waiting += p.step;
      }
    }
  }

  /** At this instant: what waits in the tiers open to the first caller not yet served serves it, lowest tier first, caller after caller. */
  private take(): void {
    while (this.head < this.count) {
      const tier = this.tiers.find((x) => x.waiting > 0 && this.opens(this.head, x.penalty) <= this.t);
      if (tier === undefined) return;
      const room = this.head + 1 - this.served;
      if (tier.waiting >= room) {
        tier.waiting -= room;
        this.served = this.head + 1;
        this.head++;
      } else {
        this.served += tier.waiting;
        tier.waiting = 0;
      }
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

/**
 * The estimates of `input` do not move as time passes (nowMs): no member counted in a wrap-up
 * (servers: a wrap-up's end is a time of its own), and the callers' join times do not matter
 * (joinTimesMatter). Then estimateLine's figures for a line of plain callers hold at any instant.
 */
export function movesWithTime(input: EstimateInput): boolean {
  const inWrapup = input.members.some(
    (m) => !m.paused && m.status !== 'logged_out' && !m.offered && m.engagedElsewhere !== true && m.status !== 'available' && m.status !== 'busy',
  );
  return inWrapup || joinTimesMatter(input);
}

/**
 * Whether when the callers joined can change an estimate: tiers relax (relaxAfterSeconds > 0) and
 * some member has a penalty above 0 (Line.opens). Without, every caller that joined by nowMs has
 * every tier open, so a caller's estimate depends on its place alone when nobody requires a tag.
 */
export function joinTimesMatter(input: EstimateInput): boolean {
  return (input.relaxAfterSeconds ?? 0) > 0 && input.members.some((m) => (m.penalty ?? 0) > 0);
}
