/**
 * Wallboard statistics over sliding windows (protocol/calls.md section 5.1, SPEC.md 3.7): counters
 * kept in time buckets by the same atomic step as the join or leave they count, on both engines,
 * and the one definition of the figures derived from them.
 *
 * Buckets: one per minute (kept 60 minutes: the 15m and 1h windows) and one per quarter hour (kept
 * 100 quarters = 25 h: the `today` window; every time zone's midnight falls on a quarter hour). A
 * bucket is a vector of WALLBOARD_FIELDS, counted at the change's time (the store's clock). The memory
 * engine adds each change to both of its buckets (a WallboardBuckets). The Redis engine adds it to
 * its minute only, one counter per field, `wn:<minute>:<i>` in the queue's meta hash, and folds the
 * minutes older than MINUTES_KEPT into their quarters' counters `wq:<quarter>:<i>` at the first
 * change of a later minute (lua/includes/call-wallboard.lua); its reads count a minute not folded
 * yet in its quarter too (parseBucketFields), so both engines read the same buckets. Both prune
 * buckets past their retention whenever a new minute opens, and a queue's deletion removes them all.
 */
import type { CallQueueStats, Member, WallboardRead } from './call-types.js';

/** The counted quantities, in bucket-vector order (mirrored in lua/includes/call-wallboard.lua). */
export const WALLBOARD_FIELDS = [
  'offered',
  'answered',
  'abandoned',
  'timed_out',
  'transferred',
  'answered_within',
  'abandoned_within',
  'answer_wait_ms',
  'handled',
  'handle_ms',
] as const;
export type WallboardField = (typeof WALLBOARD_FIELDS)[number];
export type BucketVector = number[];

export const MINUTE_MS = 60_000;
export const QUARTER_MS = 900_000;
/** Minute buckets kept (the 1 h window); quarter buckets kept (25 h: the longest day). */
export const MINUTES_KEPT = 60;
export const QUARTERS_KEPT = 100;

export type WallboardWindow = '15m' | '1h' | 'today';
export const WALLBOARD_WINDOWS: readonly WallboardWindow[] = ['15m', '1h', 'today'];

/** What a join or a leave adds to its buckets. */
export function joinDelta(): BucketVector {
  return vector({ offered: 1 });
}

/**
 * A leave: its reason; `waitMs` (join to connected, or to leaving if never connected); `handleMs`
 * (connected to leaving) when it was connected, else null; the queue's threshold then.
 */
export function leaveDelta(reason: string, waitMs: number, handleMs: number | null, slSeconds: number): BucketVector {
  const within = waitMs <= slSeconds * 1000 ? 1 : 0;
  const d: Partial<Record<WallboardField, number>> = {};
  if (reason === 'answered') {
    d.answered = 1;
    d.answered_within = within;
    d.answer_wait_ms = waitMs;
  } else if (reason === 'abandoned') {
    d.abandoned = 1;
    d.abandoned_within = within;
  } else if (reason === 'timeout') d.timed_out = 1;
  else d.transferred = 1;
  if (handleMs !== null) {
    d.handled = 1;
    d.handle_ms = handleMs;
  }
  return vector(d);
}

function vector(d: Partial<Record<WallboardField, number>>): BucketVector {
  return WALLBOARD_FIELDS.map((f) => d[f] ?? 0);
}

/** The memory engine's buckets (the Redis engine keeps the same in lua/includes/call-wallboard.lua). */
export class WallboardBuckets {
  readonly minutes = new Map<number, BucketVector>();
  readonly quarters = new Map<number, BucketVector>();

  add(nowMs: number, delta: BucketVector): void {
    const m = Math.floor(nowMs / MINUTE_MS);
    const q = Math.floor(nowMs / QUARTER_MS);
    if (!this.minutes.has(m)) this.prune(m, q);
    addInto(this.minutes, m, delta);
    addInto(this.quarters, q, delta);
  }

  private prune(minute: number, quarter: number): void {
    for (const k of this.minutes.keys()) if (k <= minute - MINUTES_KEPT) this.minutes.delete(k);
    for (const k of this.quarters.keys()) if (k <= quarter - QUARTERS_KEPT) this.quarters.delete(k);
  }
}

function addInto(map: Map<number, BucketVector>, k: number, delta: BucketVector): void {
  const cur = map.get(k) ?? WALLBOARD_FIELDS.map(() => 0);
  map.set(k, cur.map((v, i) => v + (delta[i] ?? 0)));
}

/** Buckets as read from a store: minute and quarter numbers (since the epoch) to vectors. */
export interface RawBuckets {
  minutes: Map<number, BucketVector>;
  quarters: Map<number, BucketVector>;
}

/**
 * Parses the Redis bucket fields (flat HGETALL pairs; lua/includes/call-wallboard.lua): one counter
 * per field and bucket, `wn:<minute>:<i>` (a minute not yet folded into its quarter: it counts in
 * both), `wq:<quarter>:<i>` → n (i: the index in WALLBOARD_FIELDS); and the earlier layouts'
 * minutes, written with their quarters at once (so counted as minutes only), `wm:<minute>:<i>` → n
 * and whole vectors `wm:<minute>` / `wq:<quarter>` → "n,n,…", added in (a queue upgraded within a
 * day keeps its counts). Other fields are skipped.
 */
export function parseBucketFields(pairs: readonly string[]): RawBuckets {
  const out: RawBuckets = { minutes: new Map(), quarters: new Map() };
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const f = pairs[i]!;
    const kind = f.startsWith('wn:') ? 'n' : f.startsWith('wm:') ? 'm' : f.startsWith('wq:') ? 'q' : null;
    if (kind === null) continue;
    const colon = f.indexOf(':', 3);
    const bucket = Number(f.slice(3, colon === -1 ? undefined : colon));
    const value = pairs[i + 1]!;
    if (kind === 'q') addField(out.quarters, bucket, f, colon, value);
    else {
      addField(out.minutes, bucket, f, colon, value);
      if (kind === 'n') addField(out.quarters, Math.floor((bucket * MINUTE_MS) / QUARTER_MS), f, colon, value);
    }
  }
  return out;
}

/** Adds one bucket field (`<kind>:<bucket>:<i>` → n, or `<kind>:<bucket>` → "n,n,…") into `target`'s vector of `bucket`. */
function addField(target: Map<number, BucketVector>, bucket: number, f: string, colon: number, value: string): void {
  let v = target.get(bucket);
  if (v === undefined) {
    v = WALLBOARD_FIELDS.map(() => 0);
    target.set(bucket, v);
  }
  if (colon !== -1) {
    const at = Number(f.slice(colon + 1));
    if (at >= 0 && at < v.length) v[at]! += Number(value);
  } else {
    value.split(',').forEach((n, at) => {
      if (at < v.length) v[at]! += Number(n);
    });
  }
}

/** The figures of one window (protocol/calls.md section 5.1). */
export interface WindowFigures {
  window: WallboardWindow;
  /** Start of the window's first bucket (ISO); the window runs from there to `at`. */
  start: string;
  offered: number;
  answered: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  answered_within: number;
  abandoned_within: number;
  /** abandoned ÷ (answered + abandoned + timed_out); null when that is 0. */
  abandon_rate: number | null;
  /** answered_within ÷ (answered + abandoned + timed_out); null when that is 0. */
  service_level: number | null;
  /** Mean wait of the answered callers, seconds; null when none. */
  average_speed_of_answer: number | null;
  /** Mean time from connected to leaving of the callers that left after being connected, seconds. */
  average_handle_time: number | null;
  handled: number;
}

export interface MembersByState {
  available: number;
  busy: number;
  wrapup: number;
  logged_out: number;
  /** Logged-in members that are paused (they count in their status too). */
  paused: number;
}

/** GET /v1/queues/{id}/stats?window=… and the callqueue.stats frame: the live figures plus windows. */
export interface WallboardStats extends CallQueueStats {
  members_by_state: MembersByState;
  window: WindowFigures;
}

export type { WallboardRead };

export function membersByState(members: readonly Pick<Member, 'status' | 'paused'>[]): MembersByState {
  const s: MembersByState = { available: 0, busy: 0, wrapup: 0, logged_out: 0, paused: 0 };
  for (const m of members) {
    s[m.status]++;
    if (m.paused && m.status !== 'logged_out') s.paused++;
  }
  return s;
}

/**
 * The first bucket of a window at `nowMs`, as a time (ms): 15m and 1h are the current minute and the
 * 14 (59) before it; today starts at midnight in `timeZone` (IANA name).
 */
export function windowStartMs(window: WallboardWindow, nowMs: number, timeZone: string): number {
  const minute = Math.floor(nowMs / MINUTE_MS);
  if (window === '15m') return (minute - 14) * MINUTE_MS;
  if (window === '1h') return (minute - 59) * MINUTE_MS;
  return startOfDay(nowMs, timeZone);
}

/** Midnight of the day `nowMs` falls in, in `timeZone`, as epoch ms. */
export function startOfDay(nowMs: number, timeZone: string): number {
  const p = zonedParts(nowMs, timeZone);
  const localMidnight = Date.UTC(p.year, p.month - 1, p.day);
  // Offset at now, then once more at the candidate (a DST change between midnight and now).
  let guess = localMidnight - offsetMs(nowMs, timeZone);
  guess = localMidnight - offsetMs(guess, timeZone);
  return guess;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function zonedParts(ms: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const v: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') v[part.type] = Number(part.value);
  return { year: v.year!, month: v.month!, day: v.day!, hour: v.hour!, minute: v.minute!, second: v.second! };
}

function offsetMs(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** True when `timeZone` is an IANA zone this runtime knows (config validation). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Sums the buckets of one window: minute buckets for 15m and 1h, quarter buckets for today. */
export function windowFigures(window: WallboardWindow, buckets: RawBuckets, nowMs: number, timeZone: string): WindowFigures {
  const startMs = windowStartMs(window, nowMs, timeZone);
  const sum = WALLBOARD_FIELDS.map(() => 0);
  const [map, size] = window === 'today' ? [buckets.quarters, QUARTER_MS] : [buckets.minutes, MINUTE_MS];
  const first = Math.floor(startMs / size);
  const last = Math.floor(nowMs / size);
  for (const [k, v] of map) {
    if (k < first || k > last) continue;
    for (let i = 0; i < sum.length; i++) sum[i]! += v[i] ?? 0;
  }
  const n = Object.fromEntries(WALLBOARD_FIELDS.map((f, i) => [f, sum[i]!])) as Record<WallboardField, number>;
  const ended = n.answered + n.abandoned + n.timed_out;
  return {
    window,
    start: new Date(startMs).toISOString(),
    offered: n.offered,
    answered: n.answered,
    abandoned: n.abandoned,
    timed_out: n.timed_out,
    transferred: n.transferred,
    answered_within: n.answered_within,
    abandoned_within: n.abandoned_within,
    abandon_rate: ended === 0 ? null : n.abandoned / ended,
    service_level: ended === 0 ? null : n.answered_within / ended,
    average_speed_of_answer: n.answered === 0 ? null : Math.round(n.answer_wait_ms / n.answered) / 1000,
    average_handle_time: n.handled === 0 ? null : Math.round(n.handle_ms / n.handled) / 1000,
    handled: n.handled,
  };
}

export function buildWallboard(read: WallboardRead, window: WallboardWindow, timeZone: string): WallboardStats {
  return {
    ...read.stats,
    members_by_state: membersByState(read.members),
    window: windowFigures(window, read.buckets, read.nowMs, timeZone),
  };
}

/** What the callqueue.stats frame carries (protocol/websocket.md 5.6): every window at one instant. */
export interface WallboardFrame {
  queue_id: string;
  stats: CallQueueStats;
  members_by_state: MembersByState;
  /** 15m, 1h, today, in that order. */
  windows: WindowFigures[];
  /** Estimated wait of each waiting caller, seconds (protocol/routing.md section 9); null: no member can serve. */
  estimates: Record<string, number | null>;
}

export function buildWallboardFrame(queueId: string, read: WallboardRead, timeZone: string): Omit<WallboardFrame, 'estimates'> {
  return {
    queue_id: queueId,
    stats: read.stats,
    members_by_state: membersByState(read.members),
    windows: WALLBOARD_WINDOWS.map((w) => windowFigures(w, read.buckets, read.nowMs, timeZone)),
  };
}
