/**
 * The estimated-wait model (src/domain/calls/estimate.ts, protocol/routing.md section 9): examples,
 * and the monotonicity property — with fixed averages, a caller's estimate never rises while nobody
 * joins ahead of it and no member leaves, whatever else happens (time passing, callers ahead leaving
 * or being offered, members accepting, finishing calls and wrap-ups, callers behind coming and going).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateWaits, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';

const member = (status: EstimateMember['status'], statusAtMs = 0, extra: Partial<EstimateMember> = {}): EstimateMember => ({
  status, paused: false, statusAtMs, offered: false, ...extra,
});

describe('estimateWaits', () => {
  it('serves the line in order from the earliest free member, each call taking handle + wrap-up', () => {
    const input: EstimateInput = {
      nowMs: 60_000, handleSeconds: 100, wrapupSeconds: 20,
      members: [member('available'), member('busy', 0), member('wrapup', 50_000), member('available', 0, { paused: true }), member('logged_out')],
    };
    // Free at: 0 (available), 40 + 20 = 60 (busy 60 s of 100), 10 (wrap-up 10 s of 20).
    expect(estimateWaits(5, input)).toEqual([0, 10, 60, 120, 130]);
  });

  it('has no estimate without a member able to serve', () => {
    expect(estimateWaits(2, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 0, members: [member('available', 0, { paused: true })] })).toEqual([null, null]);
    expect(estimateWaits(0, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 0, members: [member('available')] })).toEqual([]);
  });

  it('a busy member past the average is expected free after its wrap-up, never sooner than a wrap-up', () => {
    expect(estimateWaits(1, { nowMs: 500_000, handleSeconds: 100, wrapupSeconds: 30, members: [member('busy', 0)] })).toEqual([30]);
  });

  it('a member a ringing caller is on its way to is busy for a whole call', () => {
    expect(estimateWaits(1, { nowMs: 0, handleSeconds: 100, wrapupSeconds: 30, members: [member('available', 0, { offered: true })] })).toEqual([130]);
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
    case 'accept': {
      const m = pickOf((x) => x.offered, op.pick);
      if (m === undefined) return false;
      m.offered = false;
      m.status = 'busy';
      m.statusAtMs = s.nowMs;
      return true;
    }
    case 'call_ends': {
      const m = pickOf((x) => x.status === 'busy', op.pick);
      if (m === undefined) return false;
      m.status = 'wrapup';
      m.statusAtMs = s.nowMs;
      return true;
    }
    case 'wrapup_ends': {
      const m = pickOf((x) => x.status === 'wrapup', op.pick);
      if (m === undefined) return false;
      m.status = 'available';
      m.statusAtMs = s.nowMs;
      return true;
    }
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
        (members, position, handle, wrapup, ops) => {
          const s: State = { nowMs: 600_000, members: members.map((m) => ({ ...m })), position, length: position + 3 };
          const estimate = () => estimateWaits(s.length, { nowMs: s.nowMs, handleSeconds: handle, wrapupSeconds: wrapup, members: s.members })[s.position];
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
