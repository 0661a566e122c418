/**
 * The relay script makes each event from its outbox entry in Lua (events-relay-8.lua): message_id
 * and `generated` must be exactly what events.ts's uuidv7 and isoMicros make, and its index entries
 * (keys.ts EventLogKeys: `<message_id><seq>` at the generated µs, in the time, type and queue
 * indexes) what the reads expect, for any time (leap days, year ends, centuries, the epoch's first second).
 * And a node recording nothing (recordEvents: false) changes the call queue without an event.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { uuidv7 } from '../../src/engine/events.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { eventLogReader } from '../../src/domain/webhooks/log.js';
import { randomName } from '../helpers/engines.js';
import { edgeEvent, edgeTimesUs, useRedisLog } from '../helpers/event-stores.js';

describe('event relay (Redis)', () => {
  let engine: RedisEngine;
  let client: Redis;
  let prefix: string;
  useRedisLog('relay', (f) => {
    ({ engine, client, prefix } = f);
  });

  it('makes message_id, generated and the index entries as events.ts and keys.ts say, at any time', async () => {
    const app = randomName('app');
    const outbox = new RedisKeys(prefix).callApp(app).scripts[8]!;
    const times = edgeTimesUs();
    const ids: string[] = [];
    for (const [i, us] of times.entries()) {
      const traits = `{"name":"queue_id","type":"string","value":"q${i}"},{"name":"n","type":"integer","value":${i}}`;
      ids.push((await client.xadd(outbox, '*', 'a', '', 't', 'bench.relay', 'u', us, 'j', traits, 'q', `q${i}`))!);
    }
    await engine.events.relay(outbox, { app });
    const logged = (await engine.events.readSince(app, 0, 100))!;
    expect(logged).toHaveLength(times.length);
    for (const [i, e] of logged.entries()) {
      const us = Number(times[i]);
      const id = uuidv7(Math.floor(us / 1000), createHash('sha1').update(`${outbox}|${ids[i]}`).digest('hex'));
      expect(e.generatedUs).toBe(us);
      expect(e.event).toEqual(edgeEvent(app, 'bench.relay', i, us, id));
      const keys = new RedisKeys(prefix);
      for (const index of [keys.eventTypeIndex(app, 'bench.relay'), keys.eventQueueIndex(app, `q${i}`)]) {
        expect(await client.zscore(index, `${id}${e.seq}`)).toBe(String(us));
      }
      expect(await client.exists(keys.eventLog(app)[2])).toBe(0);
      expect(await engine.events.get(app, id)).toEqual(e);
    }
    expect((await engine.events.types(app))['bench.relay']).toEqual({ project_id: 'string', queue_id: 'string', n: 'integer' });
  });

  it('gives the log keys of versions before the index change a TTL of the retention age (README upgrade note)', async () => {
    const app = randomName('app');
    const keys = new RedisKeys(prefix);
    const old = keys.eventLogBefore13(app);
    for (const key of old) await client.hset(key, 'x', '1');
    const outbox = keys.callApp(app).scripts[8]!;
    await client.xadd(outbox, '*', 'a', '', 't', 'bench.relay', 'u', String(Date.now() * 1000), 'j', '', 'q', '');
    await engine.events.relay(outbox, { app });
    for (const key of old) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(100 * 365 * 86_400_000 - 60_000);
    }
    expect(await engine.events.readSince(app, 0, 10)).toHaveLength(1);
  });

  it('finds events an earlier version indexed in its time index, and gives that index a TTL of the retention age (README upgrade note)', async () => {
    const app = randomName('app');
    const keys = new RedisKeys(prefix);
    const outbox = keys.callApp(app).scripts[8]!;
    const us = Date.now() * 1000;
    for (let i = 0; i < 3; i++) await client.xadd(outbox, '*', 'a', '', 't', i === 1 ? 'bench.other' : 'bench.relay', 'u', String(us + i), 'j', '', 'q', '');
    await engine.events.relay(outbox, { app });
    const logged = (await engine.events.readSince(app, 0, 10))!;
    // As an earlier version left it: every event also in the time index, which has no TTL.
    const time = keys.eventLog(app)[2];
    await client.persist(time);
    for (const e of logged) await client.zadd(time, e.generatedUs, `${e.event.message_id}${e.seq}`);
    const walk = await engine.events.scan(app, { index: { kind: 'time' }, min: 'g:', max: 'g:~', descending: false, count: 10 });
    expect(walk.events).toEqual(logged);
    for (const e of logged) expect(await engine.events.get(app, e.event.message_id)).toEqual(e);
    // A node of this version, before it first writes into a log, gives the index a TTL.
    const fresh = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000, eventRetention: { maxAgeMs: 86_400_000 } });
    await fresh.start();
    try {
      await fresh.events.ensureLog(app);
      expect(await client.pttl(time)).toBeGreaterThan(86_400_000 - 60_000);
    } finally {
      await fresh.close();
    }
  });

  it('numbers the new log on from the last seq of the log before the index change, so saved cursors stay behind it (README upgrade note)', async () => {
    const app = randomName('app');
    const keys = new RedisKeys(prefix);
    await client.hset(keys.eventLogBefore13(app)[0]!, 'seq', '5000', 'first', '4001');
    const outbox = keys.callApp(app).scripts[8]!;
    for (let i = 0; i < 2; i++) await client.xadd(outbox, '*', 't', 'bench.relay', 'u', String(Date.now() * 1000 + i), 'j', '', 'q', '');
    await engine.events.relay(outbox, { app });
    expect((await engine.events.readSince(app, 5000, 10))!.map((e) => e.seq)).toEqual([5001, 5002]);
    // A webhook endpoint that had delivered up to 4990 of the old log: its next read says what is gone
    // (webhooks/log.ts: from the oldest held on), then reads every new event.
    const reader = eventLogReader(engine.events);
    expect((await reader.readAfter(app, 4990, 10)).oldest).toBe(5001);
    expect((await reader.readAfter(app, 5000, 10)).events.map((e) => e.seq)).toEqual([5001, 5002]);
    // Carried once: a later relay (or another node's first) numbers on from the new log.
    await client.hset(keys.eventLogBefore13(app)[0]!, 'seq', '9000');
    await client.xadd(outbox, '*', 't', 'bench.relay', 'u', String(Date.now() * 1000 + 5), 'j', '', 'q', '');
    await engine.events.relay(outbox, { app });
    expect((await engine.events.readSince(app, 5002, 10))!.map((e) => e.seq)).toEqual([5003]);
  });

  it('publishes every relayed event once, in seq order, however many one relay call takes (several messages)', async () => {
    const app = randomName('app');
    const keys = new RedisKeys(prefix);
    // Two outboxes of the application, relayed by one round (the sweep): one script call of 512.
    const outboxes = [keys.callApp(app).scripts[8]!, keys.callApp(`${app}-2`).scripts[8]!];
    const seen: number[] = [];
    const unsubscribe = await engine.events.subscribe(app, (e) => {
      if (e.type === 'event') seen.push(e.event.seq);
      else seen.push(-1);
    });
    try {
      const adds: Promise<unknown>[] = [];
      for (let i = 0; i < 600; i++) {
        adds.push(client.xadd(outboxes[i % 2]!, '*', 'a', '', 't', 'bench.relay', 'u', String(Date.now() * 1000 + i), 'j', '', 'q', ''));
      }
      await Promise.all(adds);
      for (const outbox of outboxes) await engine.events.registerOutbox(outbox, app);
      await engine.events.flush();
      await expect.poll(() => seen.length).toBe(600);
      expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    } finally {
      await unsubscribe();
    }
  });

  it('writes string traits of any content as the same JSON strings (quotes, slashes, control characters, non-ASCII)', async () => {
    const app = randomName('app');
    const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix, events: engine.events, feeds: engine.feeds });
    try {
      const q = await calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
      const names = ['plain', 'Zoë "Z" / \\ \u0001\t end', '日本 \u2028'];
      for (const name of names) await calls.joinCaller(app, q.uuid, { name, number: '555', priority: -2.7 });
      await engine.events.flush();
      const joins = (await engine.events.readSince(app, 0, 100))!.filter((e) => e.event.event_type === 'queue.caller.join');
      expect(joins.map((e) => e.event.traits.find((t) => t.name === 'name')?.value)).toEqual(names);
      expect(joins.map((e) => e.event.traits.find((t) => t.name === 'priority')?.value)).toEqual(names.map(() => -2));
    } finally {
      await calls.close();
    }
  });

  it('records no event when recording is off, and the change is made', async () => {
    const app = randomName('app');
    const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix, recordEvents: false });
    try {
      const q = await calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
      const c = (await calls.joinCaller(app, q.uuid, { name: 'Bob', number: '555', priority: 0 })).value;
      await calls.leaveCaller(app, q.uuid, c.uuid, 'abandoned');
      expect((await calls.changesSince(app, q.uuid, 0))?.map((x) => x.kind)).toEqual(['caller_joined', 'caller_left']);
      await calls.events.flush();
      expect(await engine.events.readSince(app, 0, 100)).toEqual([]);
      expect(await client.exists(new RedisKeys(prefix).callQueue(app, q.uuid)[8]!)).toBe(0);
    } finally {
      await calls.close();
    }
  });
});
