/**
 * The partition log against a reference model: a plain filter-and-sort over every message ever
 * stored. Random appends, deletes, expiries and reads; every read must match the model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessageId, idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../../src/engine/ids.js';
import { PartitionLog } from '../../src/engine/memory/partition-log.js';
import type { ReadCursor, ReadOrder, StoredMessage } from '../../src/engine/types.js';

type Op =
  | { kind: 'append'; clockStep: number; ttlMs: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'read'; cursor: 'none' | 'id' | 'timestamp'; pick: number; offsetUs: number; limit: number; order: ReadOrder };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), clockStep: fc.integer({ min: -3, max: 3 }), ttlMs: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      cursor: fc.constantFrom('none' as const, 'id' as const, 'timestamp' as const),
      pick: fc.nat(),
      offsetUs: fc.integer({ min: -2, max: 2 }),
      limit: fc.integer({ min: 1, max: 20 }),
      order: fc.constantFrom('ascending' as const, 'descending' as const),
    }),
  },
);

function model(all: StoredMessage[], deleted: Set<string>, nowMs: number, since: ReadCursor | undefined, limit: number, order: ReadOrder) {
  let live = all.filter((m) => !deleted.has(m.id) && m.expiresAtMs > nowMs);
  if (order === 'descending') live = live.reverse();
  if (since !== undefined) {
    const bound =
      since.kind === 'id' ? since.id : order === 'ascending' ? idLowerBoundForTimestamp(since.seconds) : idUpperBoundForTimestamp(since.seconds);
    live = live.filter((m) => (order === 'ascending' ? m.id >= bound : m.id <= bound));
  }
  return live.slice(0, limit).map((m) => m.id);
}

describe('memory engine partition log', () => {
  it('matches the reference model under random appends, deletes, expiries and reads', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const log = new PartitionLog(7);
        const all: StoredMessage[] = [];
        const deleted = new Set<string>();
        // Clocks that step backwards too: the log must still give strictly increasing ids.
        let clockUs = 1_700_000_000_000_000;
        let nowMs = 0;
        for (const o of ops) {
          if (o.kind === 'append') {
            clockUs += o.clockStep;
            nowMs += 1;
            const m = log.append(clockUs, all.length & 0xffff, { body: `b${all.length}`, ttl: 1, expiresAtMs: nowMs + o.ttlMs });
            const prev = all[all.length - 1];
            if (prev !== undefined) {
              expect(m.id > prev.id).toBe(true);
              expect(m.seq).toBe(prev.seq + 1);
            }
            expect(decodeMessageId(m.id)).toEqual({ timestampUs: m.timestampUs, seq: m.seq, partition: 7 });
            all.push(m);
          } else if (o.kind === 'delete') {
            const target = all[o.pick % Math.max(1, all.length)];
            if (target === undefined) continue;
            const existed = !deleted.has(target.id);
            expect(log.remove([target.id], () => true)).toBe(existed ? 1 : 0);
            deleted.add(target.id);
          } else {
            const pivot = all[o.pick % Math.max(1, all.length)];
            let since: ReadCursor | undefined;
            if (o.cursor === 'id' && pivot !== undefined) since = { kind: 'id', id: pivot.id };
            if (o.cursor === 'timestamp' && pivot !== undefined) since = { kind: 'timestamp', seconds: (pivot.timestampUs + o.offsetUs) / 1e6 };
            const got = log.read({ since, limit: o.limit, order: o.order }, nowMs).map((m) => m.id);
            expect(got).toEqual(model(all, deleted, nowMs, since, o.limit, o.order));
          }
        }
        expect(log.size).toBe(all.length - deleted.size);
      }),
      { numRuns: 300 },
    );
  });

  it('removes many ids in one pass as well as a few by splicing', () => {
    const log = new PartitionLog(1);
    const ms = Array.from({ length: 100 }, (_, i) => log.append(1_000_000 + i, 0, { body: String(i), ttl: 1, expiresAtMs: 10 }));
    const evens = ms.filter((_, i) => i % 2 === 0).map((m) => m.id);
    expect(log.remove(evens, () => true)).toBe(50);
    expect(log.remove([ms[1]!.id, ms[3]!.id], () => true)).toBe(2);
    // `accept` decides per message: a message that no longer qualifies stays.
    expect(log.remove([ms[5]!.id], () => false)).toBe(0);
    const left = log.read({ limit: 1000, order: 'ascending' }, 0).map((m) => m.body);
    expect(left).toEqual(ms.map((_, i) => i).filter((i) => i % 2 === 1 && i !== 1 && i !== 3).map(String));
  });
});
