/**
 * The memory event log's lists (src/engine/memory/events.ts): the log and its per-type and
 * per-queue index lists stay in step through retention, long enough for their arrays to be
 * compacted many times, and a scan, a lookup by id and a read by seq agree with what was recorded.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../src/engine/memory/events.js';
import type { LoggedEvent } from '../../src/engine/events.js';

const TYPES = ['queue.caller.join', 'queue.caller.leave', 'agent.create'] as const;

function record(log: MemoryEventLog, app: string, i: number): void {
  const type = TYPES[i % 3]!;
  if (type === 'agent.create') log.record(app, type, { agent_id: `a${i}`, name: `n${i}` });
  else log.record(app, type, { queue_id: `q${i % 4}`, caller_id: `c${i}`, name: 'x', number: '1', priority: 0, status: 'waiting', position: 0 });
}

describe('memory event log', () => {
  it('keeps the newest maxEvents, in every index, through thousands of reclaimed events', async () => {
    let now = 1_796_602_748_000;
    const log = new MemoryEventLog({ maxEvents: 100, now: () => now });
    try {
      const app = 'app';
      const early: LoggedEvent[] = [];
      for (let i = 1; i <= 5000; i++) {
        record(log, app, i);
        if (i === 10) early.push(...((await log.readSince(app, 0, 10)) ?? []));
        if (i % 7 === 0) now++;
      }
      expect((await log.base(app)).seq).toBe(5000);
      expect(await log.readSince(app, 4899, 1000)).toBeNull();
      const kept = (await log.readSince(app, 4900, 1000))!;
      expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, k) => 4901 + k));
      // Time and id order are seq order.
      for (let k = 1; k < kept.length; k++) {
        expect(kept[k]!.generatedUs).toBeGreaterThan(kept[k - 1]!.generatedUs);
        expect(kept[k]!.event.message_id > kept[k - 1]!.event.message_id).toBe(true);
      }
      const all = await log.scan(app, { index: { kind: 'time' }, min: 'g:', max: 'g:~', descending: false, count: 1000 });
      expect(all.events.map((e) => e.seq)).toEqual(kept.map((e) => e.seq));
      const byId = await log.scan(app, { index: { kind: 'id' }, min: 'i:', max: 'i:~', descending: true, count: 1000 });
      expect(byId.events.map((e) => e.seq)).toEqual(kept.map((e) => e.seq).reverse());
      for (const type of TYPES) {
        const { events } = await log.scan(app, { index: { kind: 'type', type }, min: `t:${type}|`, max: `t:${type}|~`, descending: false, count: 1000 });
        expect(events.map((e) => e.seq)).toEqual(kept.filter((e) => e.event.event_type === type).map((e) => e.seq));
      }
      for (let q = 0; q < 4; q++) {
        const { events } = await log.scan(app, { index: { kind: 'queue', queueId: `q${q}` }, min: `q:q${q}|`, max: `q:q${q}|~`, descending: false, count: 1000 });
        expect(events.map((e) => e.seq)).toEqual(kept.filter((e) => e.event.traits.some((t) => t.name === 'queue_id' && t.value === `q${q}`)).map((e) => e.seq));
      }
      // A page after a marker, both ways, in the type index.
      const join = kept.filter((e) => e.event.event_type === 'queue.caller.join');
      const marker = join[10]!;
      const member = `t:queue.caller.join|${String(marker.generatedUs).padStart(16, '0')}:${marker.event.message_id}`;
      const after = await log.scan(app, { index: { kind: 'type', type: 'queue.caller.join' }, min: member, max: 't:queue.caller.join|~', minExclusive: true, descending: false, count: 5 });
      expect(after.events.map((e) => e.seq)).toEqual(join.slice(11, 16).map((e) => e.seq));
      const before = await log.scan(app, { index: { kind: 'type', type: 'queue.caller.join' }, min: 't:queue.caller.join|', max: member, maxExclusive: true, descending: true, count: 5 });
      expect(before.events.map((e) => e.seq)).toEqual(join.slice(5, 10).map((e) => e.seq).reverse());
      expect(await log.get(app, kept[50]!.event.message_id)).toEqual(kept[50]);
      expect(await log.get(app, early[3]!.event.message_id)).toBeNull();
      expect(Object.keys((await log.types(app))['queue.caller.join']!).sort()).toEqual(
        ['caller_id', 'name', 'number', 'position', 'priority', 'project_id', 'queue_id', 'status'],
      );
    } finally {
      log.close();
    }
  });
});
