/**
 * The feed primitive's shared parts (src/engine/feed.ts): the seq checks every follower of every
 * feed uses (next, old, reused, gap), the exact-continuation check of a live buffer, and the
 * in-process fan-out of the memory stores.
 */
import { describe, expect, it } from 'vitest';
import { continuesExactly, FeedFanOut, FeedPosition, type FeedEvent } from '../../src/engine/feed.js';

describe('FeedPosition', () => {
  it('before a base, any higher seq is next; at or below the last, old news', () => {
    const p = new FeedPosition();
    expect(p.judge(5, 'e')).toBe('next');
    expect(p.advance(5, 'e')).toBe(true);
    expect(p.judge(5, 'e')).toBe('old');
    expect(p.judge(3, 'c')).toBe('old');
    expect(p.judge(9, 'i')).toBe('next');
  });

  it('once based, a seq past last + 1 is a gap', () => {
    const p = new FeedPosition();
    p.advance(5, 'e');
    p.based = true;
    expect(p.judge(6, 'f')).toBe('next');
    expect(p.judge(7, 'g')).toBe('gap');
  });

  it('a seq already carried by another entry is reused; by the same entry, old', () => {
    const p = new FeedPosition();
    p.based = true;
    p.advance(1, 'a');
    p.advance(2, 'b');
    expect(p.judge(2, 'b')).toBe('old');
    expect(p.judge(2, 'x')).toBe('reused');
    // Entries without identity (call-queue changes) are never judged reused.
    expect(p.judge(2)).toBe('old');
  });

  it('remembers identities of the recent seqs only; the last seq and id are kept', () => {
    const p = new FeedPosition();
    for (let seq = 1; seq <= 200; seq++) p.advance(seq, `m${seq}`);
    expect(p.judge(199, 'other')).toBe('reused');
    // Long gone from the window: cannot be told apart, so it is old news.
    expect(p.judge(3, 'other')).toBe('old');
    expect(p.lastSeq).toBe(200);
    expect(p.lastId).toBe('m200');
    expect(p.advance(150, 'x')).toBe(false);
    expect(p.lastSeq).toBe(200);
  });
});

describe('continuesExactly', () => {
  const e = (...seqs: number[]) => seqs.map((seq) => ({ seq }));
  it('true when the entries follow `after` one by one up to `until`', () => {
    expect(continuesExactly(e(4, 5, 6), 3, 6)).toBe(true);
    expect(continuesExactly([], 6, 6)).toBe(true);
  });
  it('false on a hole, a repeat, or an end short of (or past) the topic', () => {
    expect(continuesExactly(e(5, 6), 3, 6)).toBe(false);
    expect(continuesExactly(e(4, 4, 5), 3, 5)).toBe(false);
    expect(continuesExactly(e(4, 5), 3, 6)).toBe(false);
    expect(continuesExactly([], 5, 6)).toBe(false);
    expect(continuesExactly(e(4, 5, 6, 7), 3, 6)).toBe(false);
  });
});

describe('FeedFanOut', () => {
  it('delivers to the listeners of one key only, each its own copy, tagged with the kind', () => {
    const fan = new FeedFanOut<'change', { seq: number; n: number[] }>('change');
    const a: FeedEvent<'change', { seq: number; n: number[] }>[] = [];
    const b: typeof a = [];
    const other: typeof a = [];
    fan.add('q1', (ev) => a.push(ev));
    fan.add('q1', (ev) => {
      b.push(ev);
      if (ev.type === 'change') ev.change.n.push(99); // must not reach the others
    });
    fan.add('q2', (ev) => other.push(ev));
    const entry = { seq: 1, n: [1] };
    fan.announce('q1', entry, structuredClone);
    expect(a).toEqual([{ type: 'change', change: { seq: 1, n: [1] } }]);
    expect(b).toHaveLength(1);
    expect(entry.n).toEqual([1]);
    expect(other).toEqual([]);
  });

  it('a throwing listener does not stop the others; removal is per subscription', () => {
    const fan = new FeedFanOut<'message', { seq: number }>('message');
    const got: number[] = [];
    const listener = (ev: FeedEvent<'message', { seq: number }>) => {
      if (ev.type === 'message') got.push(ev.message.seq);
    };
    fan.add('p', () => {
      throw new Error('listener bug');
    });
    const removeFirst = fan.add('p', listener);
    fan.add('p', listener);
    fan.announce('p', { seq: 1 }, (m) => ({ ...m }));
    removeFirst();
    fan.announce('p', { seq: 2 }, (m) => ({ ...m }));
    expect(got).toEqual([1, 1, 2]);
    fan.clear();
    expect(fan.has('p')).toBe(false);
  });
});
