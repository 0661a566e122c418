/**
 * The Redis log's index walks (events.ts RedisEventLog.scan): ZSETs by generated µs, walked by
 * score, must page exactly as Panko orders — generated then message_id, or message_id alone — for
 * events that share a µs or a ms, with every limit, both directions, a time range, each index
 * (time, type, queue, id), continuing from each page's last event as marker. The reference is the
 * log's own events (readSince) sorted and filtered here.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LoggedEvent } from '../../src/engine/events.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { parseEventQuery, queryOrder, queryParams } from '../../src/domain/events/query.js';
import { EventQueries } from '../../src/domain/events/service.js';
import { freshPrefix } from '../helpers/namespace.js';
import { randomName } from '../helpers/engines.js';

describe('event log index walks (Redis)', () => {
  let engine: RedisEngine;
  let client: Redis;
  const app = randomName('app');
  let all: LoggedEvent[] = [];
  const base = 1_780_000_000_000_000;

  beforeAll(async () => {
    const prefix = freshPrefix('scan');
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000, eventRetention: { maxAgeMs: 100 * 365 * 86_400_000, maxEvents: 10_000 } });
    await engine.start();
    client = new Redis(inject('redisUrl'));
    const outbox = new RedisKeys(prefix).callApp(app).scripts[8]!;
    // 1100 events over 4 ms, many sharing a µs: the orders by (µs, id) and by id differ within a ms,
    // and a walk of 1000 (a query's batch) ends inside a ms.
    let x = 7;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return (x >>> 16) % n;
    };
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < 1100; i++) {
      const us = base + rand(4) * 1000 + rand(3) * 7;
      const type = rand(2) === 0 ? 'scan.a' : 'scan.b';
      const queue = rand(3) === 0 ? '' : `q${rand(2)}`;
      const traits = queue === '' ? '' : `{"name":"queue_id","type":"string","value":"${queue}"}`;
      adds.push(client.xadd(outbox, '*', 'a', '', 't', type, 'u', String(us), 'j', traits, 'q', queue));
    }
    await Promise.all(adds);
    await engine.events.relay(outbox, { app });
    all = (await engine.events.readSince(app, 0, 2000))!;
  });
  afterAll(async () => {
    client.disconnect();
    await engine.close();
  });

  const byTime = (a: LoggedEvent, b: LoggedEvent) => a.generatedUs - b.generatedUs || (a.event.message_id < b.event.message_id ? -1 : 1);
  const byId = (a: LoggedEvent, b: LoggedEvent) => (a.event.message_id < b.event.message_id ? -1 : 1);
  const queueOf = (e: LoggedEvent) => e.event.traits.find((t) => t.name === 'queue_id')?.value;
  const iso = (us: number) => new Date(us / 1000).toISOString().replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);

  const cases: { name: string; query: string; keep: (e: LoggedEvent) => boolean; order: typeof byTime }[] = [
    { name: 'time', query: '', keep: () => true, order: byTime },
    { name: 'type', query: 'q.field=event_type&q.value=scan.b', keep: (e) => e.event.event_type === 'scan.b', order: byTime },
    { name: 'queue', query: 'q.field=queue_id&q.value=q1', keep: (e) => queueOf(e) === 'q1', order: byTime },
    {
      name: 'time range',
      query: `q.field=start_timestamp&q.op=ge&q.value=${iso(base + 1007)}&q.field=end_timestamp&q.op=le&q.value=${iso(base + 3000)}`,
      keep: (e) => e.generatedUs >= base + 1007 && e.generatedUs <= base + 3000,
      order: byTime,
    },
    { name: 'id', query: 'sort=message_id', keep: () => true, order: byId },
    {
      name: 'id with a time range',
      query: `sort=message_id&q.field=start_timestamp&q.op=ge&q.value=${iso(base + 1000)}&q.field=end_timestamp&q.op=le&q.value=${iso(base + 2999)}`,
      keep: (e) => e.generatedUs >= base + 1000 && e.generatedUs <= base + 2999,
      order: byId,
    },
  ];

  it('holds events sharing a µs and a ms', () => {
    expect(all).toHaveLength(1100);
    expect(new Set(all.map((e) => e.generatedUs)).size).toBeLessThan(20);
  });

  for (const c of cases) {
    for (const descending of [false, true]) {
      it(`pages the ${c.name} index ${descending ? 'descending' : 'ascending'} with every limit, marker after marker`, async () => {
        const expected = all.filter(c.keep).sort((a, b) => (descending ? -1 : 1) * c.order(a, b)).map((e) => e.event.message_id);
        expect(expected.length).toBeGreaterThan(10);
        const queries = new EventQueries(engine.events);
        const sortKey = c.order === byId ? 'message_id' : 'generated';
        for (const limit of [3, 7, 1000]) {
          const got: string[] = [];
          let marker: string | undefined;
          for (let page = 0; page < 1000; page++) {
            const text = [c.query.replace(/(^|&)sort=message_id/, ''), `sort=${sortKey}:${descending ? 'desc' : 'asc'}`, `limit=${limit}`, marker === undefined ? '' : `marker=${marker}`]
              .filter((p) => p !== '')
              .join('&');
            const events = await queries.query({ kind: 'app', app }, parseEventQuery(queryParams(text), queryOrder(text)));
            got.push(...events.map((e) => e.message_id));
            if (events.length < limit) break;
            marker = events[events.length - 1]!.message_id;
          }
          expect(got, `limit ${limit}`).toEqual(expected);
        }
      });
    }
  }

  it('finds each event by message_id, and no other id', async () => {
    for (const e of all) expect(await engine.events.get(app, e.event.message_id)).toEqual(e);
    const id = all[0]!.event.message_id;
    expect(await engine.events.get(app, `${id.slice(0, 35)}${id[35] === '0' ? '1' : '0'}`)).toBeNull();
    expect(await engine.events.get(app, id.slice(0, 20))).toBeNull();
  });
});
