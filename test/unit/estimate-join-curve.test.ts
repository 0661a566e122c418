/**
 * A join's curve (src/domain/calls/estimate.ts joinCurve, estimateOnCurve): the store picks the
 * estimate on it at the place it gives the caller, so for every count of callers ahead who require no
 * tag of their own it must be estimateBehind's value to the last bit; and a curve said not to move
 * with time (movesWithTime) must be the same at another instant, since the domain reuses it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateBehind, estimateOnCurve, joinCurve, movesWithTime, type EstimateCaller, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';

const TAGS = ['a', 'b', 'c'] as const;
const tagsArb = fc.subarray([...TAGS], { maxLength: 2 });
const NOW = 600_000;
const secondsArb = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.double({ min: 0, max: 600, noNaN: true }));

const memberArb: fc.Arbitrary<EstimateMember> = fc.record(
  {
    status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
    paused: fc.boolean(),
    statusAtMs: fc.oneof(fc.integer({ min: 0, max: NOW }), fc.double({ min: 0, max: NOW, noNaN: true })),
    offered: fc.boolean(),
    tags: tagsArb,
    penalty: fc.integer({ min: 0, max: 3 }),
    engagedElsewhere: fc.option(fc.boolean(), { nil: undefined }),
  },
  { requiredKeys: ['status', 'paused', 'statusAtMs', 'offered'] },
);

const inputArb: fc.Arbitrary<EstimateInput> = fc.record(
  {
    nowMs: fc.constant(NOW),
    handleSeconds: secondsArb,
    wrapupSeconds: fc.oneof(fc.constant(0), secondsArb),
    members: fc.array(memberArb, { maxLength: 14 }),
    requiredTags: fc.subarray([...TAGS], { maxLength: 1 }),
    relaxAfterSeconds: fc.constantFrom(0, 0, 20, 120),
    stayShare: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['nowMs', 'handleSeconds', 'wrapupSeconds', 'members'] },
);

const callerArb: fc.Arbitrary<EstimateCaller> = fc.record({ requiredTags: tagsArb }, { requiredKeys: [] });

describe('joinCurve', () => {
  it("gives estimateBehind's value for every count of callers ahead requiring no tag", () => {
    fc.assert(
      fc.property(inputArb, callerArb, fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 8 }), (input, own, counts) => {
        const caller = { ...own, createdMs: input.nowMs };
        const curve = joinCurve(caller, input);
        for (const k of [0, 1, 2, ...counts]) {
          const expected = estimateBehind({ count: k, requiredTags: [] }, caller, input);
          expect(curve === null ? null : estimateOnCurve(curve, k)).toBe(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('is the same at another instant when it does not move with time', () => {
    fc.assert(
      fc.property(inputArb, callerArb, fc.integer({ min: 1, max: 3_600_000 }), (input, own, later) => {
        fc.pre(!movesWithTime(input));
        const at = (nowMs: number) => joinCurve({ ...own, createdMs: nowMs }, { ...input, nowMs });
        expect(at(NOW + later)).toEqual(at(NOW));
      }),
      { numRuns: 1000 },
    );
  });

  it('moves with time for a member in wrap-up, or tiers that open later', () => {
    const member: EstimateMember = { status: 'wrapup', paused: false, statusAtMs: NOW - 1000, offered: false };
    const input: EstimateInput = { nowMs: NOW, handleSeconds: 60, wrapupSeconds: 30, members: [member] };
    expect(movesWithTime(input)).toBe(true);
    expect(joinCurve({ createdMs: NOW + 1000 }, { ...input, nowMs: NOW + 1000 })).not.toEqual(joinCurve({ createdMs: NOW }, input));
    expect(movesWithTime({ ...input, members: [{ ...member, status: 'available' }] })).toBe(false);
    expect(movesWithTime({ ...input, members: [{ ...member, status: 'available' }], relaxAfterSeconds: 20 })).toBe(true);
  });
});
