import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay, validateBackoff } from '../../src/client/backoff.js';

const opts = { baseMs: 100, maxMs: 5000 };

describe('full-jitter capped exponential backoff', () => {
  it('ceiling doubles from baseMs and is capped at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, opts))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(backoffCeiling(10_000, opts)).toBe(5000);
    expect(Number.isFinite(backoffCeiling(Number.MAX_SAFE_INTEGER, opts))).toBe(true);
  });

  it('delay = random(0, ceiling): the whole window is used, its edges included', () => {
    expect(fullJitterDelay(3, opts, () => 0)).toBe(0);
    expect(fullJitterDelay(3, opts, () => 0.5)).toBe(400);
    expect(fullJitterDelay(3, opts, () => 0.999999)).toBe(799);
    expect(fullJitterDelay(20, opts, () => 0.999999)).toBe(4999);
  });

  it('property: every delay lies in [0, min(max, base·2^attempt))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, extra, r) => {
          const o = { baseMs, maxMs: baseMs + extra };
          const d = fullJitterDelay(attempt, o, () => r);
          const ceiling = Math.min(o.maxMs, baseMs * 2 ** attempt);
          return Number.isInteger(d) && d >= 0 && d < Math.max(1, ceiling);
        },
      ),
    );
  });

  it('with real randomness, delays spread over the window (not bunched at its edge)', () => {
    const delays = Array.from({ length: 2000 }, () => fullJitterDelay(5, opts));
    const ceiling = backoffCeiling(5, opts);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(ceiling);
    const lowHalf = delays.filter((d) => d < ceiling / 2).length;
    // Binomial(2000, 0.5): outside 800..1200 has probability < 1e-18.
    expect(lowHalf).toBeGreaterThan(800);
    expect(lowHalf).toBeLessThan(1200);
  });

  it('Backoff counts attempts and reset() starts again from baseMs', () => {
    const b = new Backoff(opts, () => 0.999999);
    expect([b.next(), b.next(), b.next()]).toEqual([99, 199, 399]);
    expect(b.attempt).toBe(3);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(99);
    for (let i = 0; i < 50; i++) b.next();
    expect(b.next()).toBe(4999);
  });

  it('rejects nonsensical options', () => {
    expect(() => validateBackoff({ baseMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => validateBackoff({ baseMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => validateBackoff({ baseMs: Number.NaN, maxMs: 50 })).toThrow(RangeError);
    expect(validateBackoff({ baseMs: 10, maxMs: 10 })).toEqual({ baseMs: 10, maxMs: 10 });
  });
});
