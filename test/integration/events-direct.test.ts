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
import { buildEvent, changeEventValues, traitOf, uuidv7Micros, type HoldlineEvent } from '../../src/engine/events.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { directIdBits } from '../../src/engine/redis/events.js';
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
        expect(await client.zscore(keys.eventTypeIndex(app, 'bench.direct'), `${id}${e.seq}`)).toBe(String(us));
        // Indexed by the queue it was recorded with, not by a trait.
        expect(await client.zscore(keys.eventQueueIndex(app, `q${i}`), `${id}${e.seq}`)).toBe(i % 2 === 0 ? String(us) : null);
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
      expect(record.event).toEqual({ message_id: leave!.event.message_id, event_type: 'queue.caller.leave' });
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
