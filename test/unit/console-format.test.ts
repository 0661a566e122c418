/** The console's pure helpers: how it writes durations and rates, and reads a member's state. */
import { describe, expect, it } from 'vitest';
import type { CallQueueStats, Member } from '../../src/client/index.js';
import { countDown, duration, estimateText, percent, since, until } from '../../src/console/format.js';
import { abandonRate, countStates, memberState, stateSince } from '../../src/console/live.js';

const member = (over: Partial<Member>): Member => ({
  uuid: 'a',
  queue_id: 'q',
  number: '1',
  paused: false,
  paused_at: null,
  pause_reason: null,
  status: 'available',
  status_at: '2026-01-01T00:00:00.000Z',
  created_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('console helpers', () => {
  it('writes durations as m:ss or h:mm:ss, never negative', () => {
    expect(duration(0)).toBe('0:00');
    expect(duration(65.9)).toBe('1:05');
    expect(duration(3723)).toBe('1:02:03');
    expect(duration(-5)).toBe('0:00');
    expect(since(null, 10_000)).toBe(0);
    expect(since('1970-01-01T00:00:01.000Z', 3000)).toBe(2);
  });

  it('counts an estimated wait down from its push, never below 0, and says when there is none', () => {
    expect(countDown(126.5, 6.5)).toBe(120);
    expect(countDown(5, 30)).toBe(0);
    // A clock step backwards does not raise it.
    expect(countDown(5, -3)).toBe(5);
    expect(countDown(null, 10)).toBeNull();
    expect(countDown(undefined, 10)).toBeUndefined();
    expect(estimateText(120)).toBe('2:00');
    expect(estimateText(0)).toBe('0:00');
    expect(estimateText(null)).toBe('no agent on duty');
    expect(estimateText(undefined)).toBe('–');
    expect(until('1970-01-01T00:00:15.000Z', 3000)).toBe(12);
    expect(until('1970-01-01T00:00:01.000Z', 3000)).toBe(-2);
  });

  it('writes ratios as percentages, and none as a dash', () => {
    expect(percent(null)).toBe('–');
    expect(percent(0.8567)).toBe('85.7%');
    expect(percent(1)).toBe('100%');
  });

  it('computes the abandon rate over answered, abandoned and timed-out callers (transferred left out)', () => {
    const stats = { completed: 6, abandoned: 3, timed_out: 1, transferred: 10 } as CallQueueStats;
    expect(abandonRate(stats)).toBe(0.3);
    expect(abandonRate({ completed: 0, abandoned: 0, timed_out: 0, transferred: 4 } as CallQueueStats)).toBeNull();
  });

  it("reads a member's state as a supervisor does: logged out, else paused, else its status", () => {
    expect(memberState(member({}))).toBe('available');
    expect(memberState(member({ status: 'busy', paused: true }))).toBe('paused');
    expect(memberState(member({ status: 'logged_out', paused: true }))).toBe('logged_out');
    expect(stateSince(member({ paused: true, paused_at: '2026-01-01T00:05:00.000Z' }))).toBe('2026-01-01T00:05:00.000Z');
    expect(stateSince(member({}))).toBe('2026-01-01T00:00:00.000Z');
    expect(countStates([member({}), member({ paused: true }), member({ status: 'wrapup' })])).toEqual({
      available: 1,
      busy: 0,
      wrapup: 1,
      paused: 1,
      logged_out: 0,
    });
  });
});
