/**
 * The estimated-wait model (src/domain/calls/estimate.ts, protocol/routing.md section 9): examples,
 * and the monotonicity property — with fixed averages, a caller's estimate never rises while nobody
 * joins ahead of it and no member leaves, whatever else happens (time passing, callers ahead leaving
 * or being offered, members accepting, finishing calls and wrap-ups, callers behind coming and going).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateLine, estimateWaits, giveUpRateFrom, handleSecondsFrom, type EstimateCaller, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';
import { decide } from '../../src/domain/calls/routing/strategy.js';
import { type AgentRouting, DEFAULT_ROUTING, type RoutingRead } from '../../src/engine/routing-types.js';

const member = (status: EstimateMember['status'], statusAtMs = 0, extra: Partial<EstimateMember> = {}): EstimateMember => ({
  status, paused: false, statusAtMs, offered: false, ...extra,
});

describe('estimateWaits', () => {
  it('serves the line from the free members first, then at the rate calls end (median of each place)', () => {
    const input: EstimateInput = {
      nowMs: 60_000, handleSeconds: 100, wrapupSeconds: 20,
      members: [member('available'), member('busy', 0), member('wrapup', 50_000), member('available', 0, { paused: true }), member('logged_out')],
    };
    // Cycle c = 120 s. N(t) = (1 + t/c) available + t/c busy + (t/c, and 1 − 10/c more at 10 s) in wrap-up.
    // Place 0: N(0) = 1 ≥ 2/3. Place 1 (1⅔): 1 + 30/120 = 1.25 at 10 s, + 0.917 = 2.17 → 10 s.
    // Place 2 (2⅔): 2.17 + 3(t − 10)/120 → 30 s; then one place per 40 s: 70, 110.
    expect(estimateWaits(5, input)).toEqual([0, 10, 30, 70, 110]);
  });

  it('has no estimate without a member able to serve', () => {
    expect(estimateWaits(2, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 0, members: [member('available', 0, { paused: true })] })).toEqual([null, null]);
    expect(estimateWaits(0, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 0, members: [member('available')] })).toEqual([]);
  });

  it('a busy member is expected to end its call at the rate of one per H + W, however long it has lasted', () => {
    const busy = (elapsedMs: number) => estimateWaits(2, { nowMs: 500_000, handleSeconds: 100, wrapupSeconds: 20, members: [member('busy', 500_000 - elapsedMs)] });
    // The median of an exponential call's end with its wrap-up: ⅔ of 120 s, then another cycle.
    expect(busy(0)).toEqual([80, 200]);
    expect(busy(400_000)).toEqual([80, 200]);
    // n busy members: n times the rate.
    expect(estimateWaits(2, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 20, members: [member('busy'), member('busy'), member('busy')] })).toEqual([26.7, 66.7]);
  });

  it('a member a ringing caller is on its way to counts as on a call', () => {
    expect(estimateWaits(1, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 30, members: [member('available', 0, { offered: true })] })).toEqual([86.7]);
  });

  it('counts a call ending u seconds from now as e^(θu) callers, θ the rate at which a waiting caller gives up', () => {
    const input: EstimateInput = { nowMs: 0, handleSeconds: 90, wrapupSeconds: 0, members: [member('busy'), member('available')] };
    // Place 0 takes the free member at once; then both end calls, one every 45 s.
    expect(estimateWaits(3, input)).toEqual([0, 30, 75]);
    // θ = 1/30: 1 + (2/90)·30·(e^(t/30) − 1) reaches 1⅔ at 30·ln 2 = 20.8 s and 2⅔ at 30·ln 3.5 = 37.6 s;
    // the free member still takes one caller (place 0 at once).
    expect(estimateWaits(3, { ...input, giveUpRate: 1 / 30 })).toEqual([0, 20.8, 37.6]);
    expect(estimateWaits(3, { ...input, giveUpRate: 0 })).toEqual(estimateWaits(3, input));
    // The longer the wait, the more of the line ahead has given up: the later places gain more.
    const thinned = estimateWaits(12, { ...input, giveUpRate: 1 / 300 });
    const plain = estimateWaits(12, input);
    for (let i = 2; i < 12; i++) expect(thinned[i]! / plain[i]!).toBeLessThan(thinned[i - 1]! / plain[i - 1]!);
  });

  it('takes θ as the give-ups over the time the callers waited, with 10 answered assumed (giveUpRateFrom)', () => {
    // 20 gave up among 90 leaves (and 10 assumed) that waited 15 s on average: 20 / (100 × 15).
    expect(giveUpRateFrom(70, 20, 15)).toBeCloseTo(1 / 75, 12);
    expect(giveUpRateFrom(70, 0, 15)).toBe(0);
    expect(giveUpRateFrom(0, 1, null)).toBeNull();
    expect(giveUpRateFrom(5, 5, 0)).toBeNull();
    expect(giveUpRateFrom(0, 0, 10)).toBeNull();
  });

  it('a member engaged by another queue counts only when no other member may take the caller', () => {
    const engaged = member('available', 0, { engagedElsewhere: true });
    const input: EstimateInput = { nowMs: 0, handleSeconds: 90, wrapupSeconds: 0, members: [engaged, member('busy')] };
    // With one busy member of its own: the engaged one is left out (its call's queue takes it first).
    expect(estimateWaits(1, input)).toEqual([60]);
    // Alone: counted as on a call rather than no estimate.
    expect(estimateWaits(1, { ...input, members: [engaged] })).toEqual([60]);
  });
});

describe('estimateWaits against the capacity from its definition', () => {
  /** N(t) from routing.md section 9, every tier open, no tags. */
  function capacity(members: EstimateMember[], nowMs: number, h: number, w: number, t: number, theta = 0): number {
    const c = Math.max(0.1, h + w);
    let n = 0;
    for (const m of members) {
      if (m.paused || m.status === 'logged_out') continue;
      // Call ends at 1/c per second, one at u counting e^(θu) callers.
      n += theta === 0 ? t / c : Math.expm1(theta * t) / theta / c;
      if (m.offered || m.status === 'busy') continue;
      const free = m.status === 'available' ? 0 : Math.max(0, w - Math.max(0, nowMs - m.statusAtMs) / 1000);
      if (t >= free) n += 1 - free / c;
    }
    return n;
  }

  it('is where N(t) reaches k + 2/3, for every place of the line (bisection)', () => {
    fc.assert(
      fc.property(fc.array(memberArb, { maxLength: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 60 }), fc.constantFrom(0, 0.003, 0.05), (members, n, h, w, theta) => {
        const nowMs = 600_000;
        const got = estimateWaits(n, { nowMs, handleSeconds: h, wrapupSeconds: w, members, giveUpRate: theta });
        got.forEach((est, k) => {
          if (est === null) return;
          let lo = 0;
          let hi = 1e7;
          for (let i = 0; i < 200; i++) {
            const mid = (lo + hi) / 2;
            if (capacity(members, nowMs, h, w, mid, theta) >= k + 2 / 3 - 1e-9) hi = mid;
            else lo = mid;
          }
          expect(Math.abs(est - Math.round(hi * 10) / 10)).toBeLessThanOrEqual(0.1 + 1e-9);
        });
      }),
    );
  });
});

describe('handleSecondsFrom', () => {
  it('adds what the calls in progress have lasted to the calls ended, per call ended', () => {
    expect(handleSecondsFrom(30, 2, [100])).toBe(80);
    expect(handleSecondsFrom(30, 2, [])).toBe(30);
    // A member left busy for a day counts an hour at most.
    expect(handleSecondsFrom(30, 2, [86_400])).toBe(30 + 3600 / 2);
    expect(handleSecondsFrom(null, 0, [100])).toBeNull();
  });
});

interface State {
  nowMs: number;
  members: EstimateMember[];
  /** The tracked caller's position and the line's length. */
  position: number;
  length: number;
}

type Op =
  | { kind: 'time'; ms: number }
  | { kind: 'ahead_leaves' }
  | { kind: 'behind_joins' }
  | { kind: 'behind_leaves' }
  | { kind: 'ahead_offered'; pick: number }
  | { kind: 'accept'; pick: number }
  | { kind: 'call_ends'; pick: number }
  | { kind: 'wrapup_ends'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 300_000 }) }),
  fc.constant({ kind: 'ahead_leaves' as const }),
  fc.constant({ kind: 'behind_joins' as const }),
  fc.constant({ kind: 'behind_leaves' as const }),
  fc.record({ kind: fc.constant('ahead_offered' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('accept' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('call_ends' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('wrapup_ends' as const), pick: fc.nat() }),
);

const memberArb: fc.Arbitrary<EstimateMember> = fc.record({
  status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
  paused: fc.boolean(),
  statusAtMs: fc.integer({ min: 0, max: 600_000 }),
  offered: fc.constant(false),
});

/**
 * A member moving on (the ops both monotonicity properties share): an offered one accepts (busy from
 * now), a busy one ends its call (wrap-up from now), a wrap-up ends (available); false when no
 * serving member is in that state.
 */
function memberMoves(s: { nowMs: number; members: EstimateMember[] }, op: { kind: 'accept' | 'call_ends' | 'wrapup_ends'; pick: number }): boolean {
  const from: (m: EstimateMember) => boolean =
    op.kind === 'accept' ? (x) => x.offered : op.kind === 'call_ends' ? (x) => x.status === 'busy' && !x.offered : (x) => x.status === 'wrapup' && !x.offered;
  const c = s.members.filter((m) => !m.paused && m.status !== 'logged_out' && from(m));
  const m = c.length === 0 ? undefined : c[op.pick % c.length];
  if (m === undefined) return false;
  m.offered = false;
  m.status = op.kind === 'accept' ? 'busy' : op.kind === 'call_ends' ? 'wrapup' : 'available';
  m.statusAtMs = s.nowMs;
  return true;
}

/** Applies an allowed op (one that must not raise the tracked caller's estimate); false when it does not apply. */
function apply(s: State, op: Op): boolean {
  const serving = (m: EstimateMember) => !m.paused && m.status !== 'logged_out';
  const pickOf = (pred: (m: EstimateMember) => boolean, n: number) => {
    const c = s.members.filter((m) => serving(m) && pred(m));
    return c.length === 0 ? undefined : c[n % c.length];
  };
  switch (op.kind) {
    case 'time':
      s.nowMs += op.ms;
      return true;
    case 'ahead_leaves':
      if (s.position === 0) return false;
      s.position--;
      s.length--;
      return true;
    case 'behind_joins':
      s.length++;
      return true;
    case 'behind_leaves':
      if (s.length - 1 === s.position) return false;
      s.length--;
      return true;
    case 'ahead_offered': {
      // The head of the line goes to a member free now (what the routing decision does).
      const m = pickOf((x) => x.status === 'available' && !x.offered, op.pick);
      if (s.position === 0 || m === undefined) return false;
      m.offered = true;
      s.position--;
      s.length--;
      return true;
    }
    case 'accept':
    case 'call_ends':
    case 'wrapup_ends':
      return memberMoves(s, op);
  }
}

describe('estimate monotonicity (property)', () => {
  it('never rises while nobody joins ahead and no member leaves', () => {
    fc.assert(
      fc.property(
        fc.array(memberArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 120 }),
        fc.array(opArb, { maxLength: 60 }),
        fc.constantFrom(0, 0.002, 0.02, 0.5),
        (members, position, handle, wrapup, ops, giveUp) => {
          const s: State = { nowMs: 600_000, members: members.map((m) => ({ ...m })), position, length: position + 3 };
          const estimate = () =>
            estimateWaits(s.length, { nowMs: s.nowMs, handleSeconds: handle, wrapupSeconds: wrapup, members: s.members, giveUpRate: giveUp })[s.position];
          let last = estimate();
          for (const op of ops) {
            if (!apply(s, op)) continue;
            const now = estimate();
            if (last === null || last === undefined) {
              last = now;
              continue;
            }
            expect(now, JSON.stringify({ op, s })).not.toBeNull();
            expect(now!, JSON.stringify({ op, s })).toBeLessThanOrEqual(last);
            last = now;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

// --- tiers and skills (routing.md section 9: pools, competing callers, tiers opening with the wait) ---

describe('estimateLine with skills and tiers', () => {
  it("counts only the caller's pool: members holding the queue's and the caller's tags", () => {
    const input: EstimateInput = {
      nowMs: 0, handleSeconds: 100, wrapupSeconds: 0, requiredTags: ['fr'],
      members: [member('available', 0, { tags: ['fr'] }), member('available', 0, { tags: ['fr', 'billing'] }), member('available', 0, { tags: ['en'] })],
    };
    // Caller 0 (fr) takes a member at once; caller 1 (fr+billing) competes with it (they share the
    // fr+billing member), so it waits for its one-member pool's next call end (⅔ of 100 s after the
    // first place); caller 2 (fr) has two callers ahead sharing its two-member pool: 2 + 2t/100
    // reaches 2⅔ at 33.3 s; caller 3 needs a tag nobody has.
    expect(estimateLine([{}, { requiredTags: ['billing'] }, {}, { requiredTags: ['de'] }], input)).toEqual([0, 66.7, 33.3, null]);
  });

  it('callers whose pools share no member do not delay each other', () => {
    const input: EstimateInput = {
      nowMs: 0, handleSeconds: 60, wrapupSeconds: 0,
      members: [member('busy', 0, { tags: ['a'] }), member('available', 0, { tags: ['b'] })],
    };
    // The busy 'a' member: ⅔ of a 60 s call, then one more; the 'b' caller is not behind them.
    expect(estimateLine([{ requiredTags: ['a'] }, { requiredTags: ['a'] }, { requiredTags: ['b'] }], input)).toEqual([40, 100, 0]);
  });

  it('a higher tier counts from when it opens for the caller (penalty × relax_after_seconds after it joined)', () => {
    const input: EstimateInput = {
      nowMs: 10_000, handleSeconds: 300, wrapupSeconds: 0, relaxAfterSeconds: 30,
      members: [member('busy', 10_000), member('available', 0, { penalty: 1 })],
    };
    // Joined at 0: tier 1 opens at 30 s, 20 s from now; the tier-0 member is busy for 300 s.
    expect(estimateLine([{ createdMs: 0 }], input)).toEqual([20]);
    // Without relaxation every tier is open at once.
    expect(estimateLine([{ createdMs: 0 }], { ...input, relaxAfterSeconds: 0 })).toEqual([0]);
  });

  it('a caller ahead whose tier opens first takes the higher tier; what that tier does meanwhile waits for a caller it is open to', () => {
    const input: EstimateInput = {
      nowMs: 20_000, handleSeconds: 300, wrapupSeconds: 0, relaxAfterSeconds: 30,
      members: [member('busy', 20_000), member('available', 0, { penalty: 1 })],
    };
    // A joined at 0: tier 1 opens to it 10 s from now and it takes the free tier-1 member then.
    // C joined at 20 s: the tier-0 member's ends (1/300 per s) serve A's rest, then C's; what the
    // tier-1 member's calls end meanwhile waits for C's tier, 30 s from now: S = 1 + 20/300 + 10/300
    // + 20/300 = 1.2 at 30 s, then both at 2/300 per s reach 1⅔ at 100 s. (Each caller's tier alone,
    // as before: 115 s, the tier-1 member counted for C only from its own opening.)
    expect(estimateLine([{ createdMs: 0 }, { createdMs: 20_000 }], input)).toEqual([10, 100]);
    // No caller is passed over for a younger one: an older caller behind a younger one (a priority)
    // has its tier open when the younger's is.
    expect(estimateLine([{ createdMs: 20_000 }, { createdMs: 0 }], input)).toEqual([30, 100]);
  });

  it('a lower-tier member coming free early takes the head caller, as routing does, and the caller behind waits for its higher tier: its estimate rises (routing.md section 9)', () => {
    // Routing gives a caller its lowest open tier (routing.md section 2, rule 4). A's tier 1 opens
    // 5 s from now, C's 20 s from now; the tier-0 member's wrap-up ends 10 s from now.
    const line: EstimateCaller[] = [{ createdMs: 45_000 }, { createdMs: 60_000 }];
    const input: EstimateInput = {
      nowMs: 100_000, handleSeconds: 600, wrapupSeconds: 30, relaxAfterSeconds: 60,
      members: [member('wrapup', 80_000), member('available', 0, { penalty: 1 })],
    };
    // A takes the tier-1 member at 5 s, C the tier-0 member as its wrap-up ends, at 10 s.
    expect(estimateLine(line, input)).toEqual([5, 10]);
    // The tier-0 member ends its wrap-up now (its agent sets it available): routing offers A to it
    // at once, and nobody may give C the tier-1 member before C's tier opens, 20 s from now. C's
    // actual wait rises by routing's own rule, so any estimate that follows routing rises with it;
    // one that did not rise would have to tell C 20 s above, where it is offered at 10 s.
    const early = { ...input, members: [member('available', 100_000), member('available', 0, { penalty: 1 })] };
    expect(estimateLine(line, early)).toEqual([0, 20]);
    // Routing's own decisions (strategy.ts decide) in both states: the first at 105 s offers A the
    // tier-1 member (the tier-0 one is in its wrap-up); with the tier-0 member free, the decision at
    // 100 s offers it A and leaves C, and at 119.9 s (the tier-0 member on A's call) C has nobody.
    const read = (nowMs: number, tier0Available: boolean): RoutingRead => ({
      settings: { ...DEFAULT_ROUTING, strategy: 'linear', relax_after_seconds: 60, wrapup_seconds: 30 }, seq: 0, nowMs,
      waiting: [{ uuid: 'A', createdMs: 45_000, requiredTags: [] }, { uuid: 'C', createdMs: 60_000, requiredTags: [] }],
      members: [
        { uuid: 'm0', createdMs: 0, available: tier0Available, penalty: 0, callsTaken: 0, idleSinceMs: 0 },
        { uuid: 'm1', createdMs: 1, available: true, penalty: 1, callsTaken: 0, idleSinceMs: 0 },
      ],
      offers: [], lastOffered: null,
    });
    const agents = new Map<string, AgentRouting>([['m0', { tags: [], engagedUntilMs: null }], ['m1', { tags: [], engagedUntilMs: null }]]);
    expect(decide(read(105_000, false), agents)).toEqual([{ caller: 'A', agents: ['m1'] }]);
    expect(decide(read(100_000, true), agents)).toEqual([{ caller: 'A', agents: ['m0'] }]);
    expect(decide({ ...read(119_900, false), waiting: [{ uuid: 'C', createdMs: 60_000, requiredTags: [] }] }, agents)).toEqual([]);
  });

  it('agrees with estimateWaits when nobody requires a tag and every tier is open', () => {
    fc.assert(
      fc.property(fc.array(memberArb, { maxLength: 6 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 600 }), (members, n, h) => {
        const input = { nowMs: 600_000, handleSeconds: h, wrapupSeconds: 10, members };
        expect(estimateLine(Array.from({ length: n }, () => ({ createdMs: 0 })), input)).toEqual(estimateWaits(n, input));
      }),
    );
  });
});

const TAGS = ['a', 'b', 'c'] as const;
const tagsArb = fc.subarray([...TAGS], { maxLength: 2 });

interface TieredState {
  nowMs: number;
  members: EstimateMember[];
  /** Callers ahead of the tracked one, in order; then the tracked one; then those behind. */
  ahead: EstimateCaller[];
  tracked: EstimateCaller;
  behind: EstimateCaller[];
}

type TieredOp =
  | Op
  | { kind: 'ahead_leaves_at'; pick: number }
  | { kind: 'behind_joins_with'; tags: string[] }
  | { kind: 'ahead_offered_to'; caller: number; pick: number };

const tieredOpArb: fc.Arbitrary<TieredOp> = fc.oneof(
  opArb,
  fc.record({ kind: fc.constant('ahead_leaves_at' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('behind_joins_with' as const), tags: tagsArb }),
  fc.record({ kind: fc.constant('ahead_offered_to' as const), caller: fc.nat(), pick: fc.nat() }),
);

const tieredMemberArb: fc.Arbitrary<EstimateMember> = fc.record({
  status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
  paused: fc.boolean(),
  statusAtMs: fc.integer({ min: 0, max: 600_000 }),
  offered: fc.constant(false),
  tags: tagsArb,
  penalty: fc.integer({ min: 0, max: 3 }),
});

const callerArb: fc.Arbitrary<EstimateCaller> = fc.record({ requiredTags: tagsArb, createdMs: fc.integer({ min: 0, max: 600_000 }) });

/** The members that may take caller `c` (serving, holding the queue's and its tags). */
function poolOf(s: TieredState, queueTags: readonly string[], c: EstimateCaller): EstimateMember[] {
  const need = [...queueTags, ...(c.requiredTags ?? [])];
  return s.members.filter((m) => !m.paused && m.status !== 'logged_out' && need.every((t) => (m.tags ?? []).includes(t)));
}

/** Applies an allowed op (one that must not raise the tracked caller's estimate); false when it does not apply. */
function applyTiered(s: TieredState, op: TieredOp, queueTags: readonly string[]): boolean {
  switch (op.kind) {
    case 'time':
      s.nowMs += op.ms;
      return true;
    case 'ahead_leaves':
    case 'ahead_leaves_at':
      if (s.ahead.length === 0) return false;
      s.ahead.splice(op.kind === 'ahead_leaves' ? 0 : op.pick % s.ahead.length, 1);
      return true;
    case 'behind_joins':
      s.behind.push({ createdMs: s.nowMs });
      return true;
    case 'behind_joins_with':
      s.behind.push({ requiredTags: op.tags, createdMs: s.nowMs });
      return true;
    case 'behind_leaves':
      if (s.behind.length === 0) return false;
      s.behind.pop();
      return true;
    case 'ahead_offered':
    case 'ahead_offered_to': {
      // Any caller ahead (a decision skips callers nobody can take) goes to an available member of its pool.
      if (s.ahead.length === 0) return false;
      const i = op.kind === 'ahead_offered' ? 0 : op.caller % s.ahead.length;
      const pool = poolOf(s, queueTags, s.ahead[i]!).filter((m) => m.status === 'available' && !m.offered);
      if (pool.length === 0) return false;
      pool[op.pick % pool.length]!.offered = true;
      s.ahead.splice(i, 1);
      return true;
    }
    case 'accept':
    case 'call_ends':
    case 'wrapup_ends':
      return memberMoves(s, op);
  }
}

/**
 * Runs the property must always pass. The first, found by CI: a free member offered the caller ahead
 * gives the same time by another sum, and float noise rounded it 344.2 → 344.3 before estimates were
 * rounded through µs. The next two, found at 300,000 runs, are routing's own exception (routing.md
 * section 9): a tier-0 member comes free at once — its wrap-up run out by time (1.0 → 1.1 s), or ended
 * early (0.0 → 0.1 s) — beside a free member of a higher tier, takes the caller ahead, and the tracked
 * caller waits for its higher tier to open.
 */
const TIERED_EXAMPLES: [EstimateMember[], EstimateCaller[], EstimateCaller, string[], number, number, number, TieredOp[], number][] = [
  [
    [
      { status: 'logged_out', paused: true, statusAtMs: 383129, offered: false, tags: ['a'], penalty: 3 },
      { status: 'available', paused: false, statusAtMs: 44278, offered: false, tags: ['b', 'c'], penalty: 3 },
      { status: 'wrapup', paused: true, statusAtMs: 542557, offered: false, tags: ['b'], penalty: 1 },
      { status: 'logged_out', paused: true, statusAtMs: 500612, offered: false, tags: ['a', 'b'], penalty: 2 },
      { status: 'busy', paused: false, statusAtMs: 152918, offered: false, tags: ['b'], penalty: 1 },
      { status: 'available', paused: false, statusAtMs: 173497, offered: false, tags: ['a'], penalty: 3 },
      { status: 'wrapup', paused: false, statusAtMs: 486011, offered: false, tags: ['a', 'c'], penalty: 1 },
    ],
    [
      { requiredTags: ['a', 'c'], createdMs: 590572 }, { requiredTags: ['a'], createdMs: 583507 }, { requiredTags: ['b', 'c'], createdMs: 422512 },
      { requiredTags: ['a', 'c'], createdMs: 456628 }, { requiredTags: ['b', 'c'], createdMs: 176686 }, { requiredTags: [], createdMs: 541568 },
      { requiredTags: [], createdMs: 100079 }, { requiredTags: [], createdMs: 511288 }, { requiredTags: ['a'], createdMs: 216766 },
    ],
    { requiredTags: [], createdMs: 136313 },
    [],
    20, 175, 68,
    [
      { kind: 'ahead_leaves_at', pick: 986893782 },
      { kind: 'ahead_offered_to', caller: 935031810, pick: 174594833 },
    ],
    0,
  ],
  [
    [
      { status: 'busy', paused: false, statusAtMs: 0, offered: false, tags: [], penalty: 0 },
      { status: 'available', paused: false, statusAtMs: 0, offered: false, tags: [], penalty: 2 },
    ],
    [{ requiredTags: [], createdMs: 0 }, { requiredTags: [], createdMs: 0 }],
    { requiredTags: [], createdMs: 362050 },
    [],
    120, 1, 1,
    [{ kind: 'ahead_leaves_at', pick: 0 }, { kind: 'call_ends', pick: 0 }, { kind: 'time', ms: 1000 }],
    0,
  ],
  [
    [
      { status: 'available', paused: false, statusAtMs: 0, offered: false, tags: ['a'], penalty: 1 },
      { status: 'wrapup', paused: false, statusAtMs: 544001, offered: false, tags: ['a'], penalty: 0 },
      { status: 'available', paused: false, statusAtMs: 0, offered: false, tags: [], penalty: 0 },
    ],
    [{ requiredTags: [], createdMs: 0 }],
    { requiredTags: ['a'], createdMs: 480050 },
    [],
    120, 1, 56,
    [{ kind: 'wrapup_ends', pick: 0 }],
    0,
  ],
];

/** The members of the tracked caller's pool free of calls now (available, or their wrap-up over), not offered. */
function freeNowIn(s: TieredState, queueTags: readonly string[], wrapupSeconds: number): Set<EstimateMember> {
  const free = (m: EstimateMember) =>
    !m.offered && (m.status === 'available' || (m.status === 'wrapup' && s.nowMs - m.statusAtMs >= wrapupSeconds * 1000));
  return new Set(poolOf(s, queueTags, s.tracked).filter(free));
}

/**
 * The one exception (routing.md section 9): a member of the tracked caller's pool came free at once
 * (its wrap-up ended early, or time ran it out) while that pool has a member of a higher tier, in
 * any state (what a busy one's calls end also waits for a caller its tier is open to). Routing gives
 * the head caller the lowest open tier, so the newly free member can take a caller that the higher
 * tier would have taken, and a caller behind then waits for that tier to open to it: its actual wait
 * rises, and the estimate with it (the example 'a lower-tier member coming free early'). Narrowing
 * it to a higher-tier member free of calls fails within 100,000 runs (a busy one's call ends).
 */
function freedBelowAHigherTier(s: TieredState, queueTags: readonly string[], wrapupSeconds: number, freeBefore: ReadonlySet<EstimateMember>): boolean {
  const highest = Math.max(...poolOf(s, queueTags, s.tracked).map((m) => m.penalty ?? 0));
  return [...freeNowIn(s, queueTags, wrapupSeconds)].some((m) => !freeBefore.has(m) && (m.penalty ?? 0) < highest);
}

describe('estimate monotonicity with skills and tiers (property)', () => {
  it('never rises while nobody joins ahead and no member leaves', () => {
    fc.assert(
      fc.property(
        fc.array(tieredMemberArb, { minLength: 1, maxLength: 8 }),
        fc.array(callerArb, { maxLength: 12 }),
        callerArb,
        fc.subarray([...TAGS], { maxLength: 1 }),
        fc.constantFrom(0, 20, 120),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 120 }),
        fc.array(tieredOpArb, { maxLength: 60 }),
        fc.constantFrom(0, 0.002, 0.02, 0.5),
        (members, ahead, tracked, queueTags, relax, handle, wrapup, ops, giveUp) => {
          const s: TieredState = { nowMs: 600_000, members: members.map((m) => ({ ...m })), ahead: [...ahead], tracked, behind: [] };
          const estimate = () =>
            estimateLine([...s.ahead, s.tracked, ...s.behind], {
              nowMs: s.nowMs, handleSeconds: handle, wrapupSeconds: wrapup, members: s.members, requiredTags: queueTags, relaxAfterSeconds: relax,
              giveUpRate: giveUp,
            })[s.ahead.length];
          let last = estimate();
          for (const op of ops) {
            const freeBefore = freeNowIn(s, queueTags, wrapup);
            if (!applyTiered(s, op, queueTags)) continue;
            const now = estimate();
            if (last === null || last === undefined) {
              last = now;
              continue;
            }
            expect(now, JSON.stringify({ op, s })).not.toBeNull();
            if (!(relax > 0 && freedBelowAHigherTier(s, queueTags, wrapup, freeBefore))) expect(now!, JSON.stringify({ op, s })).toBeLessThanOrEqual(last);
            last = now;
          }
        },
      ),
      { numRuns: 1000, examples: TIERED_EXAMPLES },
    );
  });
});
