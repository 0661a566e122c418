/**
 * Panko v2 event queries over real HTTP on both engines (issue 13 item 3; protocol/events.md section
 * 5): every op and trait type, the event fields, sort both ways with ties by message_id, limit,
 * marker paging while new events arrive, each bad input → its 400, the other routes, and isolation
 * (an application key sees its own events only; the admin key sees all).
 */
import { describe, expect, it } from 'vitest';
import type { HoldlineEvent } from '../../src/engine/events.js';
import { engineFactories } from '../helpers/engines.js';
import { call, useServer, type TestServer } from '../helpers/server.js';

type Q = [field: string, op: string, type: string, value: string];

function qs(filters: Q[], extra: Record<string, string | string[]> = {}): string {
  const p = new URLSearchParams();
  for (const [field, op, type, value] of filters) {
    p.append('q.field', field);
    p.append('q.op', op);
    p.append('q.type', type);
    p.append('q.value', value);
  }
  for (const [k, v] of Object.entries(extra)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  return p.toString();
}

async function events(s: TestServer, key: string | null, query: string): Promise<{ status: number; body: any }> {
  await s.engine.events.flush();
  if (key === null) {
    const res = await s.request(`/v1/events?${query}`, { headers: { authorization: `Admin ${s.adminKey}` } });
    return { status: res.status, body: await res.json() };
  }
  return call(s, key, 'GET', `/v1/events?${query}`);
}

const trait = (e: HoldlineEvent, name: string) => e.traits.find((t) => t.name === name)?.value;

/** An application with a call queue and callers of priorities 1..5 that join, then 2 and 4 leave. */
async function world(s: TestServer) {
  const { name: app, key } = await s.createApp();
  const queue = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
  const callers: string[] = [];
  for (let p = 1; p <= 5; p++) {
    callers.push((await call(s, key, 'POST', `/v1/queues/${queue}/callers`, { name: `c${p}`, number: `55${p}`, priority: p })).body.uuid);
  }
  await call(s, key, 'DELETE', `/v1/queues/${queue}/callers/${callers[1]}`, { reason: 'abandoned' });
  await call(s, key, 'DELETE', `/v1/queues/${queue}/callers/${callers[3]}`, { reason: 'answered' });
  return { app, key, queue, callers };
}

describe.each(engineFactories)('GET /v1/events ($name)', (factory) => {
  const srv = useServer(factory);

  it('lists the application\'s events, generated ascending by default, as Panko events', async () => {
    const s = srv();
    const { app, key } = await world(s);
    const { status, body } = await events(s, key, '');
    expect(status).toBe(200);
    const types = (body as HoldlineEvent[]).map((e) => e.event_type);
    expect(types).toEqual([
      'application.create', 'queue.create', ...Array(5).fill('queue.caller.join'), 'queue.caller.leave', 'queue.caller.leave',
    ]);
    const gens = (body as HoldlineEvent[]).map((e) => e.generated);
    expect([...gens].sort()).toEqual(gens);
    for (const e of body as HoldlineEvent[]) {
      expect(Object.keys(e).sort()).toEqual(['event_type', 'generated', 'message_id', 'raw', 'traits']);
      expect(e.traits[0]).toEqual({ name: 'project_id', type: 'string', value: app });
    }
  });

  it('filters with every op on an integer trait, and by float, string and datetime traits', async () => {
    const s = srv();
    const { key } = await world(s);
    const joins = (op: string, v: string) => qs([['event_type', 'eq', '', 'queue.caller.join'], ['priority', op, 'integer', v]]);
    const priorities = async (op: string, v: string) =>
      ((await events(s, key, joins(op, v))).body as HoldlineEvent[]).map((e) => trait(e, 'priority'));
    expect(await priorities('lt', '3')).toEqual([1, 2]);
    expect(await priorities('le', '3')).toEqual([1, 2, 3]);
    expect(await priorities('eq', '3')).toEqual([3]);
    expect(await priorities('', '3')).toEqual([3]); // empty op: eq
    expect(await priorities('ne', '3')).toEqual([1, 2, 4, 5]);
    expect(await priorities('ge', '3')).toEqual([3, 4, 5]);
    expect(await priorities('gt', '3')).toEqual([4, 5]);
    // A trait of another type does not match (Panko keeps traits per type): priority as a string.
    expect((await events(s, key, qs([['priority', 'eq', 'string', '3']]))).body).toEqual([]);
    // Each q.op, q.type and q.value may follow its own q.field instead of whole columns.
    const interleaved = 'q.field=event_type&q.value=queue.caller.join&q.field=priority&q.op=ge&q.type=integer&q.value=4';
    expect(((await events(s, key, interleaved)).body as HoldlineEvent[]).map((e) => trait(e, 'priority'))).toEqual([4, 5]);
    // string (the default type)
    const byName = (await events(s, key, qs([['name', 'eq', '', 'c2'], ['event_type', 'eq', '', 'queue.caller.leave']]))).body as HoldlineEvent[];
    expect(byName.map((e) => [trait(e, 'name'), trait(e, 'reason')])).toEqual([['c2', 'abandoned']]);
    // float: every wait is >= 0
    expect(((await events(s, key, qs([['wait', 'ge', 'float', '0']]))).body as HoldlineEvent[]).length).toBe(2);
    expect((await events(s, key, qs([['wait', 'lt', 'float', '-0.5']]))).body).toEqual([]);
    // datetime: a key rotation's replaced_expires
    const { name: app2, key: key2 } = await s.createApp();
    const listed = await s.request(`/v1/apps/${app2}/keys`, { headers: { authorization: `Admin ${s.adminKey}` } });
    const keyId = ((await listed.json()) as { keys: { key_id: string }[] }).keys[0]!.key_id;
    const rotated = await s.request(`/v1/apps/${app2}/keys/${keyId}/rotate`, {
      method: 'POST', headers: { authorization: `Admin ${s.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ grace_seconds: 3600 }),
    });
    expect(rotated.status).toBe(201);
    const future = new Date(Date.now() + 1800_000).toISOString();
    const later = (await events(s, key2, qs([['replaced_expires', 'gt', 'datetime', future]]))).body as HoldlineEvent[];
    expect(later.map((e) => e.event_type)).toEqual(['application.key.rotate']);
    expect(later[0]!.traits.find((t) => t.name === 'replaced_expires')!.type).toBe('datetime');
    expect((await events(s, key2, qs([['replaced_expires', 'lt', 'datetime', future]]))).body).toEqual([]);
  });

  it('takes event_type, message_id, start_timestamp and end_timestamp as event fields', async () => {
    const s = srv();
    const { key } = await world(s);
    const all = (await events(s, key, '')).body as HoldlineEvent[];
    const third = all[2]!;
    expect((await events(s, key, qs([['message_id', 'eq', '', third.message_id]]))).body).toEqual([third]);
    const from = all[3]!.generated;
    const to = all[5]!.generated;
    const window = (await events(s, key, qs([['start_timestamp', 'ge', '', from], ['end_timestamp', 'le', '', to]]))).body as HoldlineEvent[];
    expect(window.map((e) => e.message_id)).toEqual(all.slice(3, 6).map((e) => e.message_id));
    const typed = (await events(s, key, qs([['event_type', 'eq', '', 'queue.caller.join'], ['start_timestamp', 'ge', '', from]]))).body as HoldlineEvent[];
    expect(typed.map((e) => e.message_id)).toEqual(all.slice(3, 7).map((e) => e.message_id));
  });

  it('sorts by generated or message_id, both ways; limit cuts', async () => {
    const s = srv();
    const { key } = await world(s);
    const asc = (await events(s, key, '')).body as HoldlineEvent[];
    const desc = (await events(s, key, qs([], { sort: 'generated:desc' }))).body as HoldlineEvent[];
    expect(desc.map((e) => e.message_id)).toEqual([...asc].reverse().map((e) => e.message_id));
    const byId = (await events(s, key, qs([], { sort: 'message_id' }))).body as HoldlineEvent[];
    expect(byId.map((e) => e.message_id)).toEqual(asc.map((e) => e.message_id).sort());
    const byIdDesc = (await events(s, key, qs([], { sort: ['message_id:desc'] }))).body as HoldlineEvent[];
    expect(byIdDesc.map((e) => e.message_id)).toEqual(asc.map((e) => e.message_id).sort().reverse());
    expect(((await events(s, key, qs([], { limit: '3' }))).body as HoldlineEvent[]).map((e) => e.message_id)).toEqual(asc.slice(0, 3).map((e) => e.message_id));
    expect((await events(s, key, qs([], { sort: ['generated:asc', 'message_id:asc'] }))).body).toEqual(asc);
  });

  it('breaks ties in generated by message_id, in the sort direction', async () => {
    const s = srv();
    const { name: app, key } = await s.createApp();
    await call(s, key, 'POST', `/${app}`, { queue_name: 'jobs', partitions: 1 });
    const posted = await s.request(`/${app}/jobs`, {
      method: 'POST', headers: { authorization: `Application ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: Array.from({ length: 6 }, (_, i) => ({ body: `m${i}`, partition: 1 })) }),
    });
    const ids = ((await posted.json()) as { messages: { key: string }[] }).messages.map((m) => m.key);
    // One delete of six messages: on Redis one script, so the six events share `generated`.
    const del = await s.request(`/${app}/jobs/${ids.join(',')}`, { method: 'DELETE', headers: { authorization: `Application ${key}` } });
    expect(del.status).toBe(200);
    const q = qs([['event_type', 'eq', '', 'message.delete']]);
    const asc = (await events(s, key, q)).body as HoldlineEvent[];
    expect(asc).toHaveLength(6);
    const key2 = (e: HoldlineEvent) => `${e.generated} ${e.message_id}`;
    expect(asc.map(key2)).toEqual(asc.map(key2).sort());
    const desc = (await events(s, key, `${q}&sort=generated:desc`)).body as HoldlineEvent[];
    expect(desc.map(key2)).toEqual(asc.map(key2).reverse());
  });

  it('pages with marker, stable while new events arrive (both directions)', async () => {
    const s = srv();
    const { key, queue } = await world(s);
    for (const descending of [false, true]) {
      const before = ((await events(s, key, 'limit=1000')).body as HoldlineEvent[]).map((e) => e.message_id);
      const sort = descending ? 'generated:desc' : 'generated:asc';
      const seen: string[] = [];
      let marker: string | undefined;
      for (let page = 0; page < 40; page++) {
        const body = (await events(s, key, qs([], { limit: '2', sort, ...(marker ? { marker } : {}) }))).body as HoldlineEvent[];
        if (body.length === 0) break;
        seen.push(...body.map((e) => e.message_id));
        marker = body[body.length - 1]!.message_id;
        // New events between pages.
        await call(s, key, 'POST', `/v1/queues/${queue}/callers`, { name: `late${page}`, number: '1', priority: 0 });
      }
      expect(new Set(seen).size).toBe(seen.length);
      // Descending: the newer events arriving are before the marker, never on a later page.
      if (descending) expect(seen).toEqual([...before].reverse());
      else expect(seen.slice(0, before.length)).toEqual(before);
    }
  });

  it('refuses bad ops, types, values, sorts, limits and markers with the documented 400', async () => {
    const s = srv();
    const { key } = await world(s);
    const cases: [string, string][] = [
      [qs([['priority', 'like', 'integer', '1']]), 'invalid_query'],
      [qs([['event_type', 'ne', '', 'x']]), 'invalid_query'],
      [qs([['message_id', 'gt', '', 'x']]), 'invalid_query'],
      [qs([['start_timestamp', 'gt', '', '2026-01-01T00:00:00']]), 'invalid_query'],
      [qs([['end_timestamp', 'ge', '', '2026-01-01T00:00:00']]), 'invalid_query'],
      [qs([['start_timestamp', 'ge', '', 'yesterday']]), 'invalid_query'],
      [qs([['priority', 'eq', 'boolean', '1']]), 'invalid_query'],
      [qs([['priority', 'eq', 'integer', '1.5']]), 'invalid_query'],
      [qs([['priority', 'eq', 'integer', 'abc']]), 'invalid_query'],
      [qs([['wait', 'eq', 'float', 'fast']]), 'invalid_query'],
      [qs([['wait', 'eq', 'float', '0x10']]), 'invalid_query'], // Number() would read 16
      [qs([['start_timestamp', 'ge', '', '2026-02-30T00:00:00Z']]), 'invalid_query'], // no such day
      [qs([['replaced_expires', 'eq', 'datetime', '2026-12-07T24:00:00Z']]), 'invalid_query'],
      [qs([['replaced_expires', 'eq', 'datetime', 'soon']]), 'invalid_query'],
      ['q.field=priority', 'invalid_query'],
      ['q.op=eq&q.op=eq&q.field=a&q.value=1', 'invalid_query'],
      ['q.field=a&q.value=1&q.value=2', 'invalid_query'],
      ['q.field=a&q.op=eq&q.op=ne&q.value=1&q.field=b', 'invalid_query'],
      ['foo=bar', 'invalid_query'],
      ['limit=0', 'invalid_limit'],
      ['limit=-1', 'invalid_limit'],
      ['limit=abc', 'invalid_limit'],
      ['limit=10001', 'invalid_limit'],
      ['sort=timestamp', 'invalid_sort'],
      ['sort=generated:up', 'invalid_sort'],
      ['sort=generated:asc&sort=message_id:desc', 'invalid_sort'],
      ['marker=0193a4f2-6b1c-7d2e-9f3a-1b2c3d4e5f60', 'marker_not_found'],
      ['marker=nope', 'marker_not_found'],
    ];
    for (const [query, code] of cases) {
      const { status, body } = await events(s, key, query);
      expect([query, status, body.error?.code]).toEqual([query, 400, code]);
    }
    const { body } = await events(s, key, 'marker=0193a4f2-6b1c-7d2e-9f3a-1b2c3d4e5f60');
    expect(body.error.message).toBe('Marker 0193a4f2-6b1c-7d2e-9f3a-1b2c3d4e5f60 not found');
    // `field` names the parameter (errors.md), as for limit and q.*; the message quotes the value.
    expect(body.error.field).toBe('marker');
    expect((await events(s, key, 'marker=nope')).body.error).toMatchObject({ field: 'marker', message: 'Marker nope not found' });
    expect((await events(s, key, 'sort=timestamp')).body.error).toMatchObject({
      field: 'sort', message: 'sort timestamp is invalid: use generated or message_id, then :asc or :desc',
    });
    const { body: op } = await events(s, key, qs([['priority', 'like', 'integer', '1']]));
    expect(op.error.message).toBe('Operator like is not supported. The supported operators are: lt, le, eq, ne, ge, gt');
  });

  it('reads a marker and a message_id filter in either case, as the event route does', async () => {
    const s = srv();
    const { key } = await world(s);
    const all = (await events(s, key, '')).body as HoldlineEvent[];
    const upper = all[2]!.message_id.toUpperCase();
    expect((await call(s, key, 'GET', `/v1/events/${upper}`)).body).toEqual(all[2]);
    expect((await events(s, key, qs([['message_id', '', '', upper]]))).body).toEqual([all[2]]);
    expect((await events(s, key, `marker=${upper}`)).body).toEqual(all.slice(3));
  });

  it('takes time bounds beyond what the indexes\' 16 digits of µs hold (after 2286, before 1970)', async () => {
    const s = srv();
    const { key } = await world(s);
    const all = (await events(s, key, '')).body as HoldlineEvent[];
    for (const sort of ['generated', 'message_id']) {
      const late = '2300-01-01T00:00:00Z';
      const early = '1960-01-01T00:00:00Z';
      expect((await events(s, key, qs([['end_timestamp', 'le', '', late]], { sort }))).body, sort).toHaveLength(all.length);
      expect((await events(s, key, qs([['start_timestamp', 'ge', '', early]], { sort }))).body, sort).toHaveLength(all.length);
      expect((await events(s, key, qs([['start_timestamp', 'ge', '', late]], { sort }))).body, sort).toEqual([]);
      expect((await events(s, key, qs([['end_timestamp', 'le', '', early]], { sort }))).body, sort).toEqual([]);
      const joins = qs([['event_type', '', '', 'queue.caller.join'], ['end_timestamp', 'le', '', late]], { sort });
      expect((await events(s, key, joins)).body, sort).toHaveLength(5);
    }
  });

  it('isolates applications: a key sees its own events; the admin key sees all', async () => {
    const s = srv();
    const a = await world(s);
    const b = await world(s);
    const aEvents = (await events(s, a.key, '')).body as HoldlineEvent[];
    const bEvents = (await events(s, b.key, '')).body as HoldlineEvent[];
    expect(aEvents.every((e) => trait(e, 'project_id') === a.app)).toBe(true);
    expect(bEvents.every((e) => trait(e, 'project_id') === b.app)).toBe(true);
    // A's event by id, a marker and a queue filter of A: nothing for B.
    expect((await call(s, b.key, 'GET', `/v1/events/${aEvents[0]!.message_id}`)).status).toBe(404);
    expect((await events(s, b.key, `marker=${aEvents[0]!.message_id}`)).body.error.code).toBe('marker_not_found');
    expect((await events(s, b.key, qs([['queue_id', 'eq', '', a.queue]]))).body).toEqual([]);
    expect((await call(s, a.key, 'GET', `/v1/events/${aEvents[0]!.message_id}`)).body).toEqual(aEvents[0]);
    const admin = (await events(s, null, 'limit=1000')).body as HoldlineEvent[];
    const ids = new Set(admin.map((e) => e.message_id));
    for (const e of [...aEvents, ...bEvents]) expect(ids.has(e.message_id)).toBe(true);
    const onlyB = (await events(s, null, qs([['project_id', 'eq', '', b.app]]))).body as HoldlineEvent[];
    expect(onlyB).toEqual(bEvents);
    // Event types and traits follow the same rule.
    const types = await call(s, b.key, 'GET', '/v1/event_types');
    expect(types.body).toEqual(['application.create', 'queue.caller.join', 'queue.caller.leave', 'queue.create']);
  });

  it('answers event types, their traits and trait values; bad credentials and parameters are refused', async () => {
    const s = srv();
    const { key, queue } = await world(s);
    // Recording is asynchronous on Redis (outbox, then relay): wait for it as events() does.
    await s.engine.events.flush();
    const traits = await call(s, key, 'GET', '/v1/event_types/queue.caller.leave/traits');
    expect(traits.status).toBe(200);
    expect(traits.body).toContainEqual({ name: 'wait', type: 'float' });
    expect(traits.body).toContainEqual({ name: 'reason', type: 'string' });
    expect((await call(s, key, 'GET', '/v1/event_types/no.such/traits')).body).toEqual([]);
    const reasons = await call(s, key, 'GET', '/v1/event_types/queue.caller.leave/traits/reason');
    expect(reasons.body).toEqual([
      { name: 'reason', type: 'string', value: 'abandoned' },
      { name: 'reason', type: 'string', value: 'answered' },
    ]);
    const prio = await call(s, key, 'GET', '/v1/event_types/queue.caller.join/traits/priority');
    expect(prio.body.map((t: { value: string }) => t.value)).toEqual(['1', '2', '3', '4', '5']);
    expect((await call(s, key, 'GET', `/v1/events/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`)).body.error.code).toBe('event_not_found');
    for (const path of ['/v1/events', '/v1/events/x', '/v1/event_types', '/v1/event_types/a/traits', '/v1/event_types/a/traits/b']) {
      expect((await s.request(path)).status).toBe(401);
      expect((await s.request(path, { headers: { authorization: 'Application wrong' } })).status).toBe(401);
      expect((await s.request(path, { headers: { authorization: 'Admin wrong' } })).status).toBe(401);
      if (path !== '/v1/events') expect((await call(s, key, 'GET', `${path}?x=1`)).body.error.code).toBe('invalid_query');
    }
    const token = (await call(s, key, 'POST', `/v1/agents`, { name: 'A' })).body.uuid as string;
    await call(s, key, 'POST', `/v1/queues/${queue}/members`, { agent_id: token });
    const grant = (await call(s, key, 'POST', `/v1/agents/${token}/tokens`, {})).body.token as string;
    expect((await call(s, { token: grant }, 'GET', '/v1/events')).status).toBe(403);
  });
});
