/**
 * Wallboard windows' arithmetic (src/engine/wallboard.ts): where each window starts, including
 * `today` in time zones with odd offsets and on a daylight-saving day, and the bucket pruning bound.
 */
import { describe, expect, it } from 'vitest';
import { MINUTES_KEPT, QUARTERS_KEPT, WallboardBuckets, joinDelta, parseBucketFields, startOfDay, windowStartMs } from '../../src/engine/wallboard.js';

describe('wallboard windows', () => {
  it('15m and 1h start 14 and 59 whole minutes before the current one', () => {
    const now = Date.UTC(2026, 11, 7, 10, 30, 45);
    expect(new Date(windowStartMs('15m', now, 'UTC')).toISOString()).toBe('2026-12-07T10:16:00.000Z');
    expect(new Date(windowStartMs('1h', now, 'UTC')).toISOString()).toBe('2026-12-07T09:31:00.000Z');
  });

  it('today starts at local midnight, on a quarter hour in every zone', () => {
    const now = Date.UTC(2026, 11, 7, 1, 0, 0);
    expect(new Date(startOfDay(now, 'UTC')).toISOString()).toBe('2026-12-07T00:00:00.000Z');
    // Kolkata is UTC+5:30: 01:00Z is 06:30 local, the day began at 18:30Z the day before.
    expect(new Date(startOfDay(now, 'Asia/Kolkata')).toISOString()).toBe('2026-12-06T18:30:00.000Z');
    // Kathmandu is UTC+5:45.
    expect(new Date(startOfDay(now, 'Asia/Kathmandu')).toISOString()).toBe('2026-12-06T18:15:00.000Z');
    // New York (UTC−5 in December): 01:00Z is 20:00 the day before.
    expect(new Date(startOfDay(now, 'America/New_York')).toISOString()).toBe('2026-12-06T05:00:00.000Z');
    // The day clocks go forward in Paris (29 March 2026): midnight was still UTC+1.
    expect(new Date(startOfDay(Date.UTC(2026, 2, 29, 12), 'Europe/Paris')).toISOString()).toBe('2026-03-28T23:00:00.000Z');
  });

  it('keeps at most 60 minute buckets and 100 quarter buckets', () => {
    const b = new WallboardBuckets();
    for (let m = 0; m < 3000; m += 1) b.add(m * 60_000, joinDelta());
    expect(b.minutes.size).toBeLessThanOrEqual(MINUTES_KEPT);
    expect(b.quarters.size).toBeLessThanOrEqual(QUARTERS_KEPT);
    expect([...b.minutes.keys()].every((k) => k > 2999 - MINUTES_KEPT)).toBe(true);
  });
});

describe('parseBucketFields (the Redis layout)', () => {
  it('reads one counter per field and bucket, adds in the earlier layout’s vectors, and skips other fields', () => {
    const read = parseBucketFields([
      'q', '{"uuid":"x"}',
      'wb', '100',
      'wm:100:0', '3', // offered
      'wm:100:1', '2', // answered
      'wm:100:7', '4500', // answer_wait_ms
      'wm:100', '1,1,0,0,0,0,0,0,0,0', // before counters: a whole vector, the same minute
      'wq:6:0', '3',
      'wm:99', '2,0,1,0,0,0,1,0,0,0',
    ]);
    expect(read.minutes).toEqual(new Map([
      [100, [4, 3, 0, 0, 0, 0, 0, 4500, 0, 0]],
      [99, [2, 0, 1, 0, 0, 0, 1, 0, 0, 0]],
    ]));
    expect(read.quarters).toEqual(new Map([[6, [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]]]));
  });

  it('counts a minute not folded yet (wn) in its quarter hour too', () => {
    const read = parseBucketFields(['wn:100:0', '2', 'wn:100:7', '900', 'wn:91:2', '1', 'wq:6:0', '3']);
    expect(read.minutes).toEqual(new Map([
      [100, [2, 0, 0, 0, 0, 0, 0, 900, 0, 0]],
      [91, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]],
    ]));
    // Minutes 90..104 are quarter 6.
    expect(read.quarters).toEqual(new Map([[6, [5, 0, 1, 0, 0, 0, 0, 900, 0, 0]]]));
  });
});
