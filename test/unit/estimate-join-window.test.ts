/**
 * The claim a join's window of estimates rests on (CallService.joinWindow, routing.md section 9):
 * where nobody requires a tag of their own and callers' join times do not matter (no tiers relax:
 * joinTimesMatter), place k's estimate in a line of k + 1 plain callers (estimateLine) is the
 * estimate estimateBehind gives a caller joining now behind k callers that joined by now — the
 * figure the two-trip join stores. And where movesWithTime says no, a plain line's estimates are
 * the same at any instant (the window is reused per basis).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateBehind, estimateLine, joinTimesMatter, movesWithTime, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';

const NOW = 1_765_000_000_123;
const secondsArb = fc.oneof(fc.integer({ min: 0, max: 900 }), fc.double({ min: 0, max: 900, noNaN: true }));
const memberArb: fc.Arbitrary<EstimateMember> = fc.record(
  {
    status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
    paused: fc.boolean(),
    statusAtMs: fc.oneof(fc.integer({ min: NOW - 900_000, max: NOW }), fc.double({ min: NOW - 900_000, max: NOW, noNaN: true })),
    offered: fc.boolean(),
    tags: fc.subarray(['a', 'b']),
    penalty: fc.integer({ min: 0, max: 3 }),
    engagedElsewhere: fc.boolean(),
  },
  { requiredKeys: ['status', 'paused', 'statusAtMs', 'offered'] },
);
const inputArb: fc.Arbitrary<EstimateInput> = fc
  .record({
    nowMs: fc.constant(NOW),
    handleSeconds: secondsArb,
    wrapupSeconds: secondsArb,
    members: fc.array(memberArb, { minLength: 0, maxLength: 30 }),
    requiredTags: fc.subarray(['a', 'b']),
    relaxAfterSeconds: fc.constantFrom(0, 15, 60),
    giveUpRate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.2, noNaN: true })),
    tiered: fc.boolean(),
  })
  // Relaxing tiers: either no member has a penalty (the window's case) or some do (joinTimesMatter: left out).
  .map(({ tiered, ...input }) => (tiered ? input : { ...input, members: input.members.map((m) => ({ ...m, penalty: 0 })) }));

describe('a join window (estimateLine of plain callers)', () => {
  it("gives place k estimateBehind's figure for k callers ahead, when the estimate depends on the place alone", () => {
    let compared = 0;
    let relaxing = 0;
    fc.assert(
      fc.property(
        inputArb,
        fc.array(fc.oneof(fc.integer({ min: NOW - 900_000, max: NOW }), fc.constant(NOW)), { maxLength: 80 }),
        fc.nat({ max: 120 }),
        (input, joined, extra) => {
          if (joinTimesMatter(input)) return;
          const n = joined.length + extra;
          const line = estimateLine(Array.from({ length: n + 1 }, () => ({})), input);
          for (let k = 0; k <= n; k++) {
            // The callers ahead: the first ones with their join times (routing's read), the rest unknown.
            const ahead = { count: k, requiredTags: Array.from({ length: Math.min(k, joined.length) }, () => [] as string[]), createdMs: joined };
            expect(line[k], `place ${k}`).toBe(estimateBehind(ahead, { requiredTags: [], createdMs: NOW }, input));
            compared++;
          }
          if ((input.relaxAfterSeconds ?? 0) > 0) relaxing++;
        },
      ),
      { numRuns: 300, seed: 1207 },
    );
    expect(compared).toBeGreaterThan(10_000);
    expect(relaxing).toBeGreaterThan(50);
  });

  it('needs the condition: with relaxing tiers the callers ahead that joined late hold the higher tiers back', () => {
    const members: EstimateMember[] = [
      { status: 'available', paused: false, statusAtMs: NOW, offered: false, penalty: 0 },
      { status: 'available', paused: false, statusAtMs: NOW, offered: false, penalty: 2 },
      { status: 'busy', paused: false, statusAtMs: NOW, offered: false, penalty: 0 },
    ];
    const input: EstimateInput = { nowMs: NOW, handleSeconds: 120, wrapupSeconds: 0, members, relaxAfterSeconds: 30 };
    expect(joinTimesMatter(input)).toBe(true);
    const behind = estimateBehind({ count: 1, requiredTags: [], createdMs: [NOW] }, { requiredTags: [], createdMs: NOW }, input);
    expect(estimateLine([{}, {}], input)[1]).not.toBe(behind);
  });

  it('does not move with time where movesWithTime says so', () => {
    let still = 0;
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 1, max: 600_000 }), fc.nat({ max: 60 }), (input, laterMs, n) => {
        const plain = Array.from({ length: n + 1 }, () => ({}));
        const now = estimateLine(plain, input);
        const later = estimateLine(plain, { ...input, nowMs: input.nowMs + laterMs });
        if (!movesWithTime(input)) {
          expect(later).toEqual(now);
          still++;
        }
      }),
      { numRuns: 400, seed: 1208 },
    );
    expect(still).toBeGreaterThan(30);
  });
});
