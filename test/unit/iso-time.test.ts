/**
 * isoTime keeps the text of recent seconds to format call-store times cheaply: whatever order the
 * instants come in, its text must be toISOString's.
 */
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/engine/iso-time.js';

describe('isoTime', () => {
  it('formats as toISOString, instants of the same, recent and other seconds interleaved', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0, 0);
    const instants = [
      now, now, now + 1, now + 9, now + 10, now + 99, now + 100, now + 999, now + 1000, now - 1, now - 86_400_000 + 7,
      now + 5, now - 86_400_000 + 8, now + 1001, -1, -999, -1000, -1001, 0, 999, 1000, 253_402_300_799_999, 253_402_300_800_000,
      -62_198_755_200_000, 1.5, now + 0.5, now + 0.5, now,
    ];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      instants.push(i % 3 === 0 ? now - 3_600_000 + (x % 5000) : now + (x % 3000) - 1500);
    }
    for (const ms of instants) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws for an invalid time, as toISOString does', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 9e15]) expect(() => isoTime(ms)).toThrow(RangeError);
  });
});
