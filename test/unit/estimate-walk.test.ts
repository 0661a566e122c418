/**
 * A join's estimate (src/domain/calls/estimate.ts estimateBehind: only the new caller, the callers
 * ahead counted by pool) against the last of the whole line's (estimateLine) — equal to the last
 * bit, on random members, lines, skills, tiers, engagements and fractional averages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateBehind, estimateLine, type EstimateCaller, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';

const TAGS = ['a', 'b', 'c'] as const;
const tagsArb = fc.subarray([...TAGS], { maxLength: 2 });
const NOW = 600_000;

/** Fractional times and averages, so that the rounds' additions and the heap's are compared in floating point. */
const secondsArb = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.double({ min: 0, max: 600, noNaN: true }));

const memberArb = (skills: boolean): fc.Arbitrary<EstimateMember> =>
  fc.record(
    {
      status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
      paused: fc.boolean(),
      statusAtMs: fc.oneof(fc.integer({ min: 0, max: NOW }), fc.double({ min: 0, max: NOW, noNaN: true })),
      offered: fc.boolean(),
      tags: skills ? tagsArb : fc.constant([]),
      penalty: skills ? fc.integer({ min: 0, max: 3 }) : fc.constant(0),
      // Engaged by another queue (left out of a pool that has others).
      engagedElsewhere: fc.option(fc.boolean(), { nil: undefined }),
    },
    { requiredKeys: ['status', 'paused', 'statusAtMs', 'offered'] },
  );

const inputArb = (skills: boolean): fc.Arbitrary<EstimateInput> =>
  fc.record({
    nowMs: fc.constant(NOW),
    handleSeconds: secondsArb,
    wrapupSeconds: fc.oneof(fc.constant(0), secondsArb),
    members: fc.array(memberArb(skills), { maxLength: 12 }),
    requiredTags: skills ? fc.subarray([...TAGS], { maxLength: 1 }) : fc.constant([]),
    relaxAfterSeconds: skills ? fc.constantFrom(0, 20, 120) : fc.constant(0),
    // θ: callers ahead giving up (each call end counts more the later it comes).
    giveUpRate: fc.constantFrom(0, 0.004, 0.03),
  });

const callerArb = (skills: boolean): fc.Arbitrary<EstimateCaller> =>
  skills
    ? fc.record({ requiredTags: tagsArb, createdMs: fc.option(fc.integer({ min: 0, max: NOW }), { nil: undefined }) }, { requiredKeys: [] })
    : fc.record({ createdMs: fc.option(fc.integer({ min: 0, max: NOW }), { nil: undefined }) }, { requiredKeys: [] });

/** Long lines on few members: many rounds per server. */
const lineArb = (skills: boolean) => fc.array(callerArb(skills), { maxLength: 60 });

describe("estimateBehind: a join's estimate equals the last of the whole line's", () => {
  for (const skills of [false, true]) {
    it(skills ? 'with skills, tiers and engagements' : 'nobody requiring a tag, every tier open', () => {
      fc.assert(
        fc.property(inputArb(skills), lineArb(skills), callerArb(skills), fc.nat({ max: 20 }), (input, ahead, caller, extra) => {
          // The callers ahead: those listed with their tags, then `extra` more with none (a count past routing's read).
          const line = [...ahead.map((c) => ({ requiredTags: c.requiredTags ?? [] })), ...Array.from({ length: extra }, () => ({ requiredTags: [] }))];
          const expected = estimateLine([...line, caller], input).at(-1);
          const tags = ahead.map((c) => c.requiredTags);
          expect(estimateBehind({ count: ahead.length + extra, requiredTags: tags }, caller, input)).toEqual(expected);
          // With when they joined (their tiers open from there): the same line with its join times.
          const joined = [...ahead.map((c, i) => ({ ...line[i]!, createdMs: c.createdMs })), ...line.slice(ahead.length)];
          const created = ahead.map((c) => c.createdMs);
          expect(estimateBehind({ count: ahead.length + extra, requiredTags: tags, createdMs: created }, caller, input)).toEqual(estimateLine([...joined, caller], input).at(-1));
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('counts only the first `count` of the tags it is given', () => {
    const input: EstimateInput = {
      nowMs: 0, handleSeconds: 60, wrapupSeconds: 0,
      members: [{ status: 'available', paused: false, statusAtMs: 0, offered: false, tags: ['a'] }, { status: 'available', paused: false, statusAtMs: 0, offered: false, tags: ['b'] }],
    };
    // Two callers ahead needing `a` (the third listed is not ahead): the `a` member, free, takes the
    // first; 1 + t/60 reaches 2⅔ at 100 s.
    expect(estimateBehind({ count: 2, requiredTags: [['a'], ['a'], ['a']] }, { requiredTags: ['a'] }, input)).toBe(100);
    expect(estimateBehind({ count: 2, requiredTags: [['a'], ['a'], ['a']] }, { requiredTags: ['b'] }, input)).toBe(0);
    // No tags listed: every caller ahead competes with a caller needing none: 2 + 2t/60 reaches 3⅔ at 50 s.
    expect(estimateBehind({ count: 3, requiredTags: [] }, {}, input)).toBe(50);
    expect(estimateBehind({ count: 3, requiredTags: [] }, { requiredTags: ['c'] }, input)).toBeNull();
  });
});
