/**
 * The event catalogue (src/engine/events.ts EVENT_TYPES and the types registered by state-events.ts and routing-types.ts) and protocol/events.md section 3 list the
 * same types, both ways; and the pieces of an event's shape: UUIDv7 ids, µs timestamps, typed traits.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEvent, eventTypeDef, isoMicros, knownEventTypes, parseIsoMicros, randomIdBits, uuidv7, uuidv7Micros, uuidv7MicrosOf } from '../../src/engine/events.js';
// The types other parts register (processing state, routing), as the engines load them.
import '../../src/engine/state-events.js';
import '../../src/engine/routing-types.js';

const doc = readFileSync(new URL('../../protocol/events.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## 3.'), doc.indexOf('## 4.'));
const documented = [...section.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1]!);

describe('event catalogue', () => {
  it('documents every event type, and only those', () => {
    expect([...documented].sort()).toEqual(knownEventTypes().sort());
  });

  it('documents every trait of each type', () => {
    for (const type of knownEventTypes()) {
      const def = eventTypeDef(type)!;
      // A row may say "as `other.type`": that row's traits count too (transitively).
      const rowOf = (t: string) => section.split('\n').find((l) => l.startsWith(`| \`${t}\` |`))!;
      const rows = [rowOf(type)];
      for (let ref = /as `([a-z_.]+)`/.exec(rows[0]!)?.[1]; ref !== undefined; ref = /as `([a-z_.]+)`/.exec(rows[rows.length - 1]!)?.[1]) {
        rows.push(rowOf(ref));
      }
      for (const name of Object.keys(def.traits)) {
        expect(rows.some((r) => r.includes(`\`${name}\``)), `${type}: ${name}`).toBe(true);
      }
    }
  });
});

describe('event shape', () => {
  it('makes UUIDv7 ids that sort by time', () => {
    const a = uuidv7(1_700_000_000_000, 'ffffffffffffffffffff');
    const b = uuidv7(1_700_000_000_001, '00000000000000000000');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });

  it('makes UUIDv7 ids from microseconds that sort as the microseconds do (RFC 9562 method 3)', () => {
    const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const base = 1_796_602_748_143_000;
    // Every µs of one ms and the first of the next, each with entropy that would sort them backwards.
    const ids = Array.from({ length: 1001 }, (_, i) => uuidv7Micros(base + i, (999_999 - i).toString(16).padStart(20, 'f')));
    for (const id of ids) expect(id).toMatch(shape);
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    // The first 48 bits are the ms; the 12 after the version the µs of that ms (0 -> 000, 999 -> ffb).
    expect(ids[0]!.startsWith(uuidv7(base / 1000, '0'.repeat(20)).slice(0, 15))).toBe(true);
    expect(ids[0]!.slice(15, 18)).toBe('000');
    expect(ids[999]!.slice(15, 18)).toBe('ffb');
    expect(ids[1000]!.slice(0, 13)).toBe(uuidv7(base / 1000 + 1, '0'.repeat(20)).slice(0, 13));
    // With random bits as the memory log draws them (30 and 32): the same shape and order, distinct ids within one µs.
    const randomId = (us: number) => uuidv7MicrosOf(us, randomIdBits() >>> 2, randomIdBits());
    const random = Array.from({ length: 1001 }, (_, i) => randomId(base + i));
    for (let i = 0; i < random.length; i++) {
      expect(random[i]).toMatch(shape);
      expect(random[i]!.slice(0, 18)).toBe(ids[i]!.slice(0, 18));
      if (i > 0) expect(random[i - 1]! < random[i]!).toBe(true);
    }
    expect(new Set(Array.from({ length: 1000 }, () => randomId(base))).size).toBe(1000);
  });

  it('makes the same id from the same microseconds and random bits, every bit in its place (uuidv7MicrosOf)', () => {
    const base = 1_796_602_748_143_000;
    const id = uuidv7MicrosOf(base + 999, 0x3fffffff, 0xffffffff);
    expect(id).toBe(`${uuidv7(base / 1000, '0'.repeat(20)).slice(0, 15)}ffb-bfff-ffffffffffff`);
    expect(uuidv7MicrosOf(base, 0, 0).slice(15)).toBe('000-8000-000000000000');
    // hi: variant 2 bits, then 7 digits; lo: the last 8.
    expect(uuidv7MicrosOf(base, (0x1234567 << 2) | 1, 0x89abcdef).slice(19)).toBe('9123-456789abcdef');
    // Another id made in between (the shared work space) does not change the next one.
    const again = [uuidv7MicrosOf(base + 1, 5, 6), uuidv7MicrosOf(base + 2_000_000, 7, 8), uuidv7MicrosOf(base + 1, 5, 6)];
    expect(again[2]).toBe(again[0]);
  });

  it('writes and reads ISO-8601 with microseconds', () => {
    expect(isoMicros(1_796_602_748_143_001)).toBe('2026-12-07T00:19:08.143001Z');
    expect(parseIsoMicros('2026-12-07T00:19:08.143001Z')).toBe(1_796_602_748_143_001);
    expect(parseIsoMicros('2026-12-07T00:19:08.143001')).toBe(1_796_602_748_143_001);
    expect(parseIsoMicros('2026-12-07T01:19:08+01:00')).toBe(1_796_602_748_000_000);
    expect(parseIsoMicros('2026-12-07')).toBe(Date.parse('2026-12-07T00:00:00Z') * 1000);
    for (const bad of ['', 'yesterday', '2026-13-45T00:00:00', '1796602748']) expect(parseIsoMicros(bad)).toBeNull();
  });

  it('types traits by the catalogue, project_id first, absent values left out', () => {
    const e = buildEvent('demo', 'queue.caller.leave', { queue_id: 'q', wait: 3, priority: 2, position: null, reason: 'abandoned' }, 1_000_000, 'id');
    expect(e.traits).toEqual([
      { name: 'project_id', type: 'string', value: 'demo' },
      { name: 'queue_id', type: 'string', value: 'q' },
      { name: 'priority', type: 'integer', value: 2 },
      { name: 'reason', type: 'string', value: 'abandoned' },
      { name: 'wait', type: 'float', value: 3 },
    ]);
    expect(e.generated).toBe('1970-01-01T00:00:01.000000Z');
  });
});
