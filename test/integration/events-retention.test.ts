/**
 * Retention and relay (issue 13 items 1 and 2; protocol/events.md sections 2 and 4): the size bound
 * and the age bound reclaim the oldest events on both engines (an idle log too, by the sweep); on
 * Redis, what a node recorded but never relayed (it died) is relayed by another node's sweep, once,
 * and a relay repeated by several nodes adds nothing twice.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { indexPrefix, type EventIndex } from '../../src/engine/events.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import type { RedisEventLog } from '../../src/engine/redis/events.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { randomName } from '../helpers/engines.js';
import { until } from '../helpers/wait.js';

const opened: EventNode[] = [];
afterEach(async () => {
  for (const n of opened.splice(0)) await n.close();
});

describe.each(eventNodeFactories)('event retention ($name)', (factory) => {
  it('keeps at most the size bound per application, the oldest going first', async () => {
    const node = await factory.open({ retention: { maxEvents: 5 } });
    opened.push(node);
    const app = randomName('app');
    for (let i = 0; i < 12; i++) await node.calls.createAgent(app, { name: `a${i}`, project_id: null, user_id: null });
    await node.engine.events.flush();
    const base = await node.engine.events.base(app);
    expect(base.seq).toBe(12);
    expect(await node.engine.events.readSince(app, 0, 100)).toBeNull();
    const kept = (await node.engine.events.readSince(app, 7, 100))!;
    expect(kept.map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    // Reclaimed events leave every index: a query by type sees the five kept.
    const { events } = await node.engine.events.scan(app, { index: { kind: 'type', type: 'agent.create' }, min: 't:', max: 't:~', descending: false, count: 100 });
    expect(events.map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    const other = randomName('app');
    await node.calls.createAgent(other, { name: 'x', project_id: null, user_id: null });
    await node.engine.events.flush();
    expect((await node.engine.events.readSince(other, 0, 10))!.length).toBe(1);
  });

  it('reclaims a call queue\'s events from its queue_id index and its types\' too', async () => {
    const node = await factory.open({ retention: { maxEvents: 3 } });
    opened.push(node);
    const app = randomName('app');
    const queue = await node.calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    for (let i = 0; i < 4; i++) {
      const joined = await node.calls.joinCaller(app, queue.uuid, { name: `c${i}`, number: String(i), priority: 0 });
      await node.calls.leaveCaller(app, queue.uuid, joined.value.uuid, 'abandoned');
    }
    await node.engine.events.flush();
    // queue.create, then 4 × (join, leave): seq 1..9, the last three kept.
    expect((await node.engine.events.base(app)).seq).toBe(9);
    const walk = async (index: EventIndex): Promise<number[]> =>
      (await node.engine.events.scan(app, { index, min: indexPrefix(index), max: `${indexPrefix(index)}~`, descending: false, count: 100 })).events.map((e) => e.seq);
    expect(await walk({ kind: 'queue', queueId: queue.uuid })).toEqual([7, 8, 9]);
    expect(await walk({ kind: 'type', type: 'queue.caller.join' })).toEqual([8]);
    expect(await walk({ kind: 'type', type: 'queue.caller.leave' })).toEqual([7, 9]);
    expect(await walk({ kind: 'type', type: 'queue.create' })).toEqual([]);
  });

  it('reclaims events older than the age bound, in an idle log too, within a sweep interval', async () => {
    const node = await factory.open({ retention: { maxAgeMs: 200 }, sweepIntervalMs: 50 });
    opened.push(node);
    const app = randomName('app');
    const agent = await node.calls.createAgent(app, { name: 'old', project_id: null, user_id: null });
    await node.engine.events.flush();
    expect((await node.engine.events.get(app, (await node.engine.events.readSince(app, 0, 1))![0]!.event.message_id))).not.toBeNull();
    await until(async () => (await node.engine.events.readSince(app, 0, 10)) === null, { what: 'the aged event reclaimed' });
    expect((await node.engine.events.base(app)).seq).toBe(1);
    expect(agent.name).toBe('old');
  });
});

describe('event relay (redis)', () => {
  const redis = eventNodeFactories.find((f) => f.name === 'redis')!;

  it('reclaims an event whose queue_id needs escaping in JSON from that queue\'s index', async () => {
    const prefix = freshPrefix('evtrim');
    const node = await redis.open({ prefix, retention: { maxEvents: 1 } });
    opened.push(node);
    const app = randomName('app');
    const outbox = new RedisKeys(prefix).callApp(app).scripts[8];
    const client = new Redis(inject('redisUrl'));
    try {
      const queueId = 'q "quoted" \\ one';
      await (node.engine.events as RedisEventLog).registerOutbox(outbox, app);
      // Two entries as change-event.lua writes them (typed traits, field j): the second's relay reclaims the first.
      for (const n of [1, 2]) {
        const traits = `{"name":"queue_id","type":"string","value":${JSON.stringify(queueId)}},{"name":"n","type":"integer","value":${n}}`;
        await client.xadd(outbox, '*', 't', 'bench.escaped', 'u', `${Date.now()}00${n}`, 'j', traits, 'q', queueId);
        await (node.engine.events as RedisEventLog).relay(outbox, { app });
      }
      const index = { kind: 'queue' as const, queueId };
      const { events } = await node.engine.events.scan(app, { index, min: indexPrefix(index), max: `${indexPrefix(index)}~`, descending: false, count: 10 });
      expect(events.map((e) => e.seq)).toEqual([2]);
      expect(await client.zcard(new RedisKeys(prefix).eventQueueIndex(app, queueId))).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('relays what a dead node recorded, by another node\'s sweep, once', async () => {
    const prefix = freshPrefix('evrelay');
    const survivor = await redis.open({ prefix, sweepIntervalMs: 50 });
    opened.push(survivor);
    const app = randomName('app');
    const keys = new RedisKeys(prefix);
    const outbox = keys.callApp(app).scripts[8];
    const client = new Redis(inject('redisUrl'));
    try {
      // What a node does before a recording script, then what event-record.lua writes; the node dies
      // before its relay.
      await (survivor.engine.events as RedisEventLog).registerOutbox(outbox, app);
      const us = `${Date.now()}000`;
      for (const name of ['x', 'y']) {
        await client.xadd(outbox, '*', 'a', '', 't', 'agent.create', 'u', us, 'v', JSON.stringify({ agent_id: `id-${name}`, name }));
      }
      await until(async () => (await survivor.engine.events.base(app)).seq === 2, { what: 'the sweep relayed the outbox' });
      // Trimmed by the relay that follows (here the next sweep).
      await until(async () => (await client.xlen(outbox)) === 0, { what: 'the outbox trimmed' });
      // Two nodes relaying the same entries at once: each event once, in the outbox's order.
      const other = await redis.open({ prefix, sweepIntervalMs: 60_000 });
      opened.push(other);
      const second = keys.callQueue(app, '00000000-0000-4000-8000-000000000001')[8];
      for (let i = 0; i < 20; i++) {
        await client.xadd(second, '*', 'a', '', 't', 'agent.delete', 'u', `${Date.now()}000`, 'v', JSON.stringify({ agent_id: `n${i}` }));
      }
      await Promise.all([
        (survivor.engine.events as RedisEventLog).relay(second, { app }),
        (other.engine.events as RedisEventLog).relay(second, { app }),
        (other.engine.events as RedisEventLog).relay(second, { app }),
      ]);
      const log = (await survivor.engine.events.readSince(app, 0, 100))!;
      expect(log.slice(2).map((e) => e.event.traits[1]!.value)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    } finally {
      client.disconnect();
    }
  });
});
