import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryHeap } from '../../src/engine/memory/expiry-heap.js';

describe('memory engine expiry index', () => {
  it('pops exactly the due entries, earliest first, whatever the insertion order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 300 }), fc.integer({ min: -1, max: 1001 }), (times, now) => {
        const heap = new ExpiryHeap<null>();
        times.forEach((t, i) => {
          heap.push({ expiresAtMs: t, target: null, id: String(i) });
        });
        const due = heap.popDue(now).map((e) => e.expiresAtMs);
        expect(due).toEqual(times.filter((t) => t <= now).sort((a, b) => a - b));
        expect(heap.size).toBe(times.length - due.length);
        const rest = heap.popDue(Infinity).map((e) => e.expiresAtMs);
        expect(rest).toEqual(times.filter((t) => t > now).sort((a, b) => a - b));
      }),
    );
  });

  it('keeps heap order after a rebuild that drops entries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()), { maxLength: 300 }), (entries) => {
        const heap = new ExpiryHeap<boolean>();
        for (const [t, keep] of entries) heap.push({ expiresAtMs: t, target: keep, id: '' });
        heap.rebuild((e) => e.target);
        const kept = entries.filter(([, keep]) => keep).map(([t]) => t).sort((a, b) => a - b);
        expect(heap.popDue(Infinity).map((e) => e.expiresAtMs)).toEqual(kept);
      }),
    );
  });
});
