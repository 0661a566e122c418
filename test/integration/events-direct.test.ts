/**
 * Direct recording (scripts.ts RecordingMode 'direct'; lua/includes/event-record-direct.lua): on a
 * single Redis the call store's scripts write each event straight into the application's log. The
 * record must be what the relay would have made (events-relay.test.ts holds the relay to events.ts):
 * message_id a UUIDv7 of the event's ms, `generated` isoMicros of its µs at any time (leap days,
 * year ends, centuries, the epoch's first second), the index entries the reads expect, the type
 * catalogue, the record published on the log's channel; values typed as buildEvent types them. And
 * the store itself: no outbox entry, the event in the log as soon as the change is answered.
 */
import type { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { buildEvent, changeEventValues, traitOf, uuidv7Micros, type HoldlineEvent, type LoggedEvent } from '../../src/engine/events.js';
import { parseEventQuery, queryOrder, queryParams } from '../../src/domain/events/query.js';
import { EventQueries } from '../../src/domain/events/service.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { directIdBits, directMessageId } from '../../src/engine/redis/events.js';
import type { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { expandLuaSource, loadLua } from '../../src/engine/redis/scripts.js';
import { randomName } from '../helpers/engines.js';
import { edgeEvent, edgeTimesUs, useRedisLog } from '../helpers/event-stores.js';

/**
 * A script recording one event through the direct recorder: ARGV type, traits ('' none), queue_id,
 * µs, values JSON ('' typed traits), app, its id bits. Its functions are the include's, inlined.
 */
const RECORD = expandLuaSource(
  `--- @include "event-record"
if ARGV[5] ~= '' then return recordEvent('', '', ARGV[1], cjson.decode(ARGV[5])) end
return appendEvent(ARGV[1], ARGV[2], ARGV[3], ARGV[4])`,
  'direct',
).source;

const trait = (e: HoldlineEvent, name: string) => traitOf(e, name)?.value;

describe('direct event recording (single Redis)', () => {
  let engine: RedisEngine;
  let client: Redis;
  let prefix: string;
  let keys: RedisKeys;
  useRedisLog('direct', (f) => {
    ({ engine, client, prefix } = f);
    keys = new RedisKeys(prefix);
  });

  const record = (app: string, type: string, traits: string, queue: string, us: string, values = ''): Promise<unknown> =>
    client.eval(RECORD, 8, ...keys.eventLog(app), type, traits, queue, us, values, app, directIdBits(app));

  it('makes the record, message_id, generated and index entries the relay makes, at any time, and publishes each event', async () => {
    const app = randomName('app');
    const times = edgeTimesUs();
    const published: number[] = [];
    const unsubscribe = await engine.events.subscribe(app, (e) => void published.push(e.type === 'event' ? e.event.seq : -1));
    try {
      for (const [i, us] of times.entries()) {
        const traits = `{"name":"queue_id","type":"string","value":"q${i}"},{"name":"n","type":"integer","value":${i}}`;
        await record(app, 'bench.direct', traits, i % 2 === 0 ? `q${i}` : '', us);
      }
      const logged = (await engine.events.readSince(app, 0, 100))!;
      expect(logged).toHaveLength(times.length);
      for (const [i, e] of logged.entries()) {
        const us = Number(times[i]);
        // The application's bits, then the seq (event-record-direct.lua): as uuidv7Micros lays out its entropy.
        const id = uuidv7Micros(us, `000${directIdBits(app)}${(i + 1).toString(16).padStart(9, '0')}`);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(e.seq).toBe(i + 1);
        expect(e.generatedUs).toBe(us);
        expect(e.event).toEqual(edgeEvent(app, 'bench.direct', i, us, id));
        // No index of every event (a walk of the log merges the type indexes).
        expect(await client.exists(keys.eventLog(app)[2])).toBe(0);
        // Indexed by its seq in twelve digits (its message_id names the seq).
        const member = String(e.seq).padStart(12, '0');
        expect(await client.zscore(keys.eventTypeIndex(app, 'bench.direct'), member)).toBe(String(us));
        // Indexed by the queue it was recorded with, not by a trait.
        expect(await client.zscore(keys.eventQueueIndex(app, `q${i}`), member)).toBe(i % 2 === 0 ? String(us) : null);
        expect(await engine.events.get(app, id)).toEqual(e);
        // The id names its seq, but only the id itself finds the event: the same seq under another
        // time or application part does not.
        const otherTime = `${id[0] === '0' ? '1' : '0'}${id.slice(1)}`;
        const otherApp = `${id.slice(0, 20)}${id[20] === '8' ? '9' : '8'}${id.slice(21)}`;
        expect(await engine.events.get(app, otherTime)).toBeNull();
        expect(await engine.events.get(app, otherApp)).toBeNull();
      }
      expect((await engine.events.types(app))['bench.direct']).toEqual({ project_id: 'string', queue_id: 'string', n: 'integer' });
      await expect.poll(() => published.length).toBe(times.length);
      expect(published).toEqual(times.map((_, i) => i + 1));
    } finally {
      await unsubscribe();
    }
  });

  it('pages events of one µs in Panko order across types, and retention removes their index entries', async () => {
    const app = randomName('app');
    const base = 1_790_000_000_000_000;
    // 3 µs over 2 ms, 2 types: ties of one µs are broken by message_id, which here names the seq.
    const qa = '{"name":"queue_id","type":"string","value":"qa"}';
    for (let i = 0; i < 40; i++) {
      await record(app, i % 3 === 0 ? 'bench.a' : 'bench.b', i % 2 === 0 ? qa : '', i % 2 === 0 ? 'qa' : '', String(base + [0, 1, 1000][i % 3]!));
    }
    const all = (await engine.events.readSince(app, 0, 100))!;
    const byTime = (a: LoggedEvent, b: LoggedEvent) => a.generatedUs - b.generatedUs || (a.event.message_id < b.event.message_id ? -1 : 1);
    const byId = (a: LoggedEvent, b: LoggedEvent) => (a.event.message_id < b.event.message_id ? -1 : 1);
    const service = new EventQueries(engine.events);
    for (const [query, key, order] of [['', 'generated', byTime], ['', 'message_id', byId], ['q.field=queue_id&q.value=qa&', 'generated', byTime]] as const) {
      for (const dir of ['asc', 'desc']) {
        const want = all.filter((e) => query === '' || traitOf(e.event, 'queue_id')?.value === 'qa').sort(order);
        if (dir === 'desc') want.reverse();
        const got: string[] = [];
        for (let marker: string | undefined; ; ) {
          const text = `${query}limit=7&sort=${key}:${dir}${marker === undefined ? '' : `&marker=${marker}`}`;
          const page = await service.query({ kind: 'app', app }, parseEventQuery(queryParams(text), queryOrder(text)));
          got.push(...page.map((e) => e.message_id));
          if (page.length < 7) break;
          marker = page[page.length - 1]!.message_id;
        }
        expect(want.length).toBeGreaterThan(query === '' ? 39 : 19);
        expect(got, `${query} ${key} ${dir}`).toEqual(want.map((e) => e.event.message_id));
      }
    }
    // Retention down to 10 events: the rest leave the records and every index.
    await client.eval(loadLua('events-trim-8', false), 8, ...keys.eventLog(app), 0, 10, 1000);
    expect((await client.zcard(keys.eventTypeIndex(app, 'bench.a'))) + (await client.zcard(keys.eventTypeIndex(app, 'bench.b')))).toBe(10);
    expect(await client.zcard(keys.eventQueueIndex(app, 'qa'))).toBe(all.slice(30).filter((e) => traitOf(e.event, 'queue_id')?.value === 'qa').length);
    expect((await engine.events.readSince(app, 30, 100))!.map((e) => e.seq)).toEqual(all.slice(30).map((e) => e.seq));
  });

  it('pages a log of many types, one of them most of it, exactly: the merge walks on the indexes that bound it', async () => {
    const app = randomName('app');
    const base = 1_790_000_000_000_000;
    let x = 11;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return (x >>> 16) % n;
    };
    const types = ['bench.t0', 'bench.t1', 'bench.t2', 'bench.t3', 'bench.t4', 'bench.t5', 'bench.t6'];
    for (let i = 0; i < 300; i++) {
      // t0 most of the log, the others now and then; times over 3 ms, many sharing a µs.
      const type = rand(10) < 7 ? types[0]! : types[1 + rand(6)]!;
      await record(app, type, '', '', String(base + rand(3) * 1000 + rand(4)));
    }
    const all = (await engine.events.readSince(app, 0, 1000))!;
    const byTime = (a: LoggedEvent, b: LoggedEvent) => a.generatedUs - b.generatedUs || (a.event.message_id < b.event.message_id ? -1 : 1);
    const byId = (a: LoggedEvent, b: LoggedEvent) => (a.event.message_id < b.event.message_id ? -1 : 1);
    const service = new EventQueries(engine.events);
    for (const [key, order] of [['generated', byTime], ['message_id', byId]] as const) {
      for (const dir of ['asc', 'desc']) {
        for (const limit of [1, 3, 10, 64]) {
          const want = [...all].sort(order);
          if (dir === 'desc') want.reverse();
          const got: string[] = [];
          for (let marker: string | undefined; ; ) {
            const text = `limit=${limit}&sort=${key}:${dir}${marker === undefined ? '' : `&marker=${marker}`}`;
            const page = await service.query({ kind: 'app', app }, parseEventQuery(queryParams(text), queryOrder(text)));
            got.push(...page.map((e) => e.message_id));
            if (page.length < limit) break;
            marker = page[page.length - 1]!.message_id;
          }
          expect(got, `${key} ${dir} limit ${limit}`).toEqual(want.map((e) => e.event.message_id));
        }
      }
    }
  });

  it('reads and trims a change an earlier version recorded (its message_id in the record, its member `<message_id><seq>`) beside new ones', async () => {
    const app = randomName('app');
    const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix, events: engine.events, feeds: engine.feeds });
    let q: { uuid: string };
    try {
      q = await calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
      await calls.joinCaller(app, q.uuid, { name: 'Ann', number: '555', priority: 1 });
      await calls.joinCaller(app, q.uuid, { name: 'Bo', number: '556', priority: 1 });
    } finally {
      await calls.close();
    }
    const before = (await engine.events.readSince(app, 0, 10))!;
    // The first join as an earlier version stored it.
    const join = before[1]!;
    const records = keys.eventLog(app)[1];
    const stored = JSON.parse((await client.hget(records, String(join.seq)))!) as { event: Record<string, string> };
    stored.event = { message_id: join.event.message_id, event_type: 'queue.caller.join' };
    await client.hset(records, String(join.seq), JSON.stringify(stored));
    const short = String(join.seq).padStart(12, '0');
    for (const index of [keys.eventTypeIndex(app, 'queue.caller.join'), keys.eventQueueIndex(app, q.uuid)]) {
      expect(await client.zrem(index, short)).toBe(1);
      await client.zadd(index, join.generatedUs, `${join.event.message_id}${join.seq}`);
    }
    expect(await engine.events.readSince(app, 0, 10)).toEqual(before);
    expect(await engine.events.get(app, join.event.message_id)).toEqual(join);
    const walk = await engine.events.scan(app, { index: { kind: 'time' }, min: 'g:', max: 'g:~', descending: false, count: 10 });
    expect(walk.events).toEqual(before);
    await client.eval(loadLua('events-trim-8', false), 8, ...keys.eventLog(app), 0, 0, 1000);
    expect(await client.exists(keys.eventTypeIndex(app, 'queue.caller.join'), keys.eventQueueIndex(app, q.uuid), records)).toBe(0);
  });

  it('adds a trait to the type catalogue the first time an event of the type has it', async () => {
    const app = randomName('app');
    const us = String(Date.now() * 1000);
    await record(app, 'bench.direct', '', '', us);
    expect((await engine.events.types(app))['bench.direct']).toEqual({ project_id: 'string' });
    await record(app, 'bench.direct', '{"name":"a","type":"float","value":1.5}', '', us);
    await record(app, 'bench.direct', '{"name":"a","type":"float","value":2},{"name":"b","type":"string","value":"x"}', '', us);
    expect((await engine.events.types(app))['bench.direct']).toEqual({ project_id: 'string', a: 'float', b: 'string' });
    // A type Holdline declares lists its declared traits from its first event on.
    await record(app, 'queue.delete', '', '', us);
    expect((await engine.events.types(app))['queue.delete']).toEqual({ project_id: 'string', queue_id: 'string', name: 'string' });
  });

  it('types plain values as buildEvent does: declared traits in catalogue order, undeclared ones as strings by name', async () => {
    const app = randomName('app');
    const values = { tag: 5, tag_id: '7.9', agents: true, zeta: 'z', alpha: 1, queue_id: null };
    await record(app, 'tag.update', '', '', '', JSON.stringify(values));
    await record(app, 'queue.caller.offer.revoke', '', '', '', JSON.stringify({ queue_id: 'qq', caller_id: 'c', offer_id: 'o', agent_id: 'a', reason: 'r' }));
    const [tag, offer] = (await engine.events.readSince(app, 0, 10))!.map((e) => e.event);
    const expected = (type: string, v: Record<string, string | number | boolean | null>) => buildEvent(app, type, v, 0, '').traits;
    expect(tag!.traits).toEqual(expected('tag.update', values));
    expect(tag!.traits.map((t) => t.name)).toEqual(['project_id', 'tag_id', 'tag', 'agents', 'alpha', 'zeta']);
    expect(offer!.traits).toEqual(expected('queue.caller.offer.revoke', { queue_id: 'qq', caller_id: 'c', offer_id: 'o', agent_id: 'a', reason: 'r' }));
    // Indexed by its queue_id value.
    expect(await client.zcard(keys.eventQueueIndex(app, 'qq'))).toBe(1);
  });

  it('is how the call store records on one Redis: no outbox entry, the event in the log once the change is answered', async () => {
    const app = randomName('app');
    const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix, events: engine.events, feeds: engine.feeds });
    try {
      expect(calls.direct).toBe(true);
      const q = await calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
      await calls.joinCaller(app, q.uuid, { name: 'Ann', number: '555', priority: 1 });
      // No flush: nothing is left to relay.
      const types = (await engine.events.readSince(app, 0, 10))!.map((e) => e.event.event_type);
      expect(types).toEqual(['queue.create', 'queue.caller.join']);
      expect(await client.exists(keys.callQueue(app, q.uuid)[8]!, keys.callApp(app).scripts[8]!)).toBe(0);
      // A change's record holds the change; read, its event is the one the memory engine builds from it.
      const [first] = (await calls.snapshot(app, q.uuid)).callers;
      const left = await calls.leaveCaller(app, q.uuid, first!.uuid, 'abandoned');
      const [, joined, leave] = (await engine.events.readSince(app, 0, 10))!;
      const record = JSON.parse((await client.hget(keys.eventLog(app)[1], String(leave!.seq)))!) as Record<string, unknown>;
      expect(Object.keys(record)).toEqual(['seq', 'us', 'q', 'event', 'c']);
      // No message_id: the reader makes it from the seq and the time (directMessageId).
      expect(record.event).toEqual({ event_type: 'queue.caller.leave' });
      expect(leave!.event.message_id).toBe(directMessageId(app, leave!.generatedUs, leave!.seq));
      // Stored without the queue's stats (call-emit.lua), which the published change carries.
      expect(record.c).not.toHaveProperty('stats');
      expect(record.c).toMatchObject({ kind: 'caller_left', seq: left.change!.seq, caller: { uuid: first!.uuid } });
      expect(left.change).toHaveProperty('stats');
      const { values } = changeEventValues(left.change!);
      expect(leave!.event).toEqual(buildEvent(app, 'queue.caller.leave', values, leave!.generatedUs, leave!.event.message_id));
      expect(trait(leave!.event, 'reason')).toBe('abandoned');
      expect(trait(joined!.event, 'name')).toBe('Ann');
      // Followed live, the same events.
      const live: HoldlineEvent[] = [];
      const unsubscribe = await engine.events.subscribe(app, (e) => void (e.type === 'event' && live.push(e.event.event)));
      const again = await calls.joinCaller(app, q.uuid, { name: 'Cy', number: '556', priority: 1 });
      await expect.poll(() => live.length).toBe(1);
      await unsubscribe();
      expect(live[0]).toEqual((await engine.events.readSince(app, leave!.seq, 1))![0]!.event);
      expect(trait(live[0]!, 'caller_id')).toBe(again.value.uuid);
      // The catalogue lists the type's declared traits from its first event on (agent_id before any answered call).
      expect((await engine.events.types(app))['queue.caller.leave']).toHaveProperty('agent_id', 'string');
    } finally {
      await calls.close();
    }
  });

  it('refuses to make a direct script of one that counts its arguments (the last two are the application\'s)', () => {
    expect(() => loadLua('call-agent-link-9', 'direct')).toThrow(/#ARGV/);
  });
});
