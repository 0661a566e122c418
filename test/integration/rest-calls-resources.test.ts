/**
 * SPEC.md 3.2 over real HTTP on both engines: agents, call queues, members, callers with their
 * positions, stats, schemas, and the cascades (a queue's deletion, an agent's deletion, an
 * application's deletion). Shapes per protocol/rest-calls.md.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { call, openCallStore, startTestServer, useServer, type TestServer } from '../helpers/server.js';

const ajv = new Ajv2020({ strict: false });
const validWallboard = ajv.compile(JSON.parse(readFileSync('protocol/schemas/calls/queue_wallboard.json', 'utf8')) as object);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function setup(s: TestServer) {
  const { name, key } = await s.createApp();
  const queue = await call(s, key, 'POST', '/v1/queues', { name: 'support', description: '24/7 Technical support' });
  expect(queue.status).toBe(201);
  return { app: name, key, q: queue.body.uuid as string };
}

/** Waiting callers' numbers in position order, checked against their `position` fields. */
async function line(s: TestServer, key: string, q: string): Promise<string[]> {
  const res = await call(s, key, 'GET', `/v1/queues/${q}/callers`);
  expect(res.status).toBe(200);
  const waiting = res.body.filter((c: { status: string }) => c.status === 'waiting');
  waiting.forEach((c: { position: number }, i: number) => {
    expect(c.position).toBe(i);
  });
  return waiting.map((c: { number: string }) => c.number);
}

describe.each(engineFactories)('REST call queues ($name)', (factory) => {
  const srv = useServer(factory, { logLevel: process.env.DBG_LOG ?? 'silent' });

  it('agents: create, list in creation order, read, update, delete', async () => {
    const s = srv();
    const { key } = await setup(s);
    const a = await call(s, key, 'POST', '/v1/agents', {});
    expect(a.status).toBe(201);
    expect(a.body).toEqual({
      uuid: expect.stringMatching(UUID), name: '', project_id: null, user_id: null, tags: [],
      created_at: expect.stringMatching(ISO), updated_at: a.body.created_at,
    });
    const b = await call(s, key, 'POST', '/v1/agents', {
      name: 'Bob', project_id: '793491dd5fa8477eb2d6a820193a183b', user_id: '02d99a62af974b26b510c3564ba84644',
    });
    expect(b.body).toMatchObject({ name: 'Bob', project_id: '793491dd5fa8477eb2d6a820193a183b' });
    // No body at all is no fields.
    const c = await s.request('/v1/agents', { method: 'POST', key });
    expect(c.status).toBe(201);
    const cBody = (await c.json()) as { uuid: string };

    const list = await call(s, key, 'GET', '/v1/agents');
    expect(list.status).toBe(200);
    expect(list.body.map((x: { uuid: string }) => x.uuid)).toEqual([a.body.uuid, b.body.uuid, cBody.uuid]);
    expect(await call(s, key, 'GET', `/v1/agents/${b.body.uuid.toUpperCase()}`)).toEqual({ status: 200, body: b.body });

    const put = await call(s, key, 'PUT', `/v1/agents/${a.body.uuid}`, { name: 'Alice', user_id: null });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ uuid: a.body.uuid, name: 'Alice', created_at: a.body.created_at });
    expect(put.body.updated_at >= a.body.updated_at).toBe(true);

    expect(await call(s, key, 'DELETE', `/v1/agents/${a.body.uuid}`)).toEqual({ status: 204, body: null });
    expect((await call(s, key, 'GET', `/v1/agents/${a.body.uuid}`)).status).toBe(404);
    expect((await call(s, key, 'DELETE', `/v1/agents/${a.body.uuid}`)).body.error.code).toBe('agent_not_found');
    expect((await call(s, key, 'GET', '/v1/agents')).body).toHaveLength(2);
  });

  it('call queues: create, list, read, update (disabled refuses joins), delete', async () => {
    const s = srv();
    const { key, q } = await setup(s);
    const got = await call(s, key, 'GET', `/v1/queues/${q}`);
    expect(got.body).toEqual({
      uuid: q, name: 'support', description: '24/7 Technical support', disabled: false, project_id: null, user_id: null,
      service_level_seconds: 20, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO),
    });
    const second = await call(s, key, 'POST', '/v1/queues', { name: 'sales', service_level_seconds: 30, disabled: true });
    expect(second.body).toMatchObject({ name: 'sales', service_level_seconds: 30, disabled: true, description: '' });
    expect((await call(s, key, 'GET', '/v1/queues')).body.map((x: { name: string }) => x.name)).toEqual(['support', 'sales']);

    const disabled = await call(s, key, 'PUT', `/v1/queues/${q}`, { disabled: true, description: 'closed' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ uuid: q, disabled: true, description: 'closed', name: 'support' });
    const refused = await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number: '6135551234' });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'queue_disabled']);
    await call(s, key, 'PUT', `/v1/queues/${q}`, { disabled: false });
    expect((await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number: '6135551234' })).status).toBe(201);

    expect((await call(s, key, 'DELETE', `/v1/queues/${q}`)).status).toBe(204);
    expect((await call(s, key, 'GET', `/v1/queues/${q}`)).body.error.code).toBe('call_queue_not_found');
    expect((await call(s, key, 'GET', '/v1/queues')).body.map((x: { name: string }) => x.name)).toEqual(['sales']);
  });

  it('members: add, read, pause with a reason, unpause, set status, remove', async () => {
    const s = srv();
    const { key, q } = await setup(s);
    const agent = (await call(s, key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    const added = await call(s, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001@example.org' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      uuid: agent, queue_id: q, number: '1001@example.org', paused: false, paused_at: null, pause_reason: null,
      status: 'available', status_at: expect.stringMatching(ISO), created_at: expect.stringMatching(ISO),
    });
    expect((await call(s, key, 'GET', `/v1/queues/${q}/members`)).body).toEqual([added.body]);
    expect((await call(s, key, 'GET', `/v1/queues/${q}/members/${agent}`)).body).toEqual(added.body);

    const paused = await call(s, key, 'PUT', `/v1/queues/${q}/members/${agent}`, { paused: true, pause_reason: 'lunch' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, pause_reason: 'lunch', paused_at: expect.stringMatching(ISO) });
    expect((await call(s, key, 'GET', `/v1/queues/${q}/stats`)).body).toMatchObject({ members: 1, members_paused: 1, members_available: 0 });
    const back = await call(s, key, 'PUT', `/v1/queues/${q}/members/${agent}`, { paused: false });
    expect(back.body).toMatchObject({ paused: false, pause_reason: null, paused_at: null });
    const busy = await call(s, key, 'PUT', `/v1/queues/${q}/members/${agent}`, { status: 'busy', number: 'sip:alice@10.0.0.1:5060' });
    expect(busy.body).toMatchObject({ status: 'busy', number: 'sip:alice@10.0.0.1:5060' });

    expect((await call(s, key, 'DELETE', `/v1/queues/${q}/members/${agent}`)).status).toBe(204);
    expect((await call(s, key, 'GET', `/v1/queues/${q}/members/${agent}`)).body.error.code).toBe('member_not_found');
    expect((await call(s, key, 'GET', `/v1/queues/${q}/members`)).body).toEqual([]);
    // The agent itself stays.
    expect((await call(s, key, 'GET', `/v1/agents/${agent}`)).status).toBe(200);
  });

  it('callers: positions by priority then join order, through joins, priority changes, status changes and leaves', async () => {
    const s = srv();
    const { key, q } = await setup(s);
    const agent = (await call(s, key, 'POST', '/v1/agents', {})).body.uuid as string;
    await call(s, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001@example.org' });
    const join = async (number: string, priority?: number) => {
      const res = await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number, name: `caller ${number}`, ...(priority === undefined ? {} : { priority }) });
      expect(res.status).toBe(201);
      return res.body;
    };
    const a = await join('100');
    expect(a).toEqual({
      uuid: expect.stringMatching(UUID), queue_id: q, name: 'caller 100', number: '100', priority: 0, position: 0,
      status: 'waiting', status_at: expect.stringMatching(ISO), member_uuid: null, created_at: expect.stringMatching(ISO),
    });
    const b = await join('200');
    expect(b.position).toBe(1);
    const c = await join('300', 5);
    expect(c.position).toBe(0);
    const d = await join('400', -1);
    expect(await line(s, key, q)).toEqual(['300', '100', '200', '400']);

    // A higher priority moves B to the front; back to 0 it returns to its place by join order.
    const up = await call(s, key, 'PUT', `/v1/queues/${q}/callers/${b.uuid}`, { priority: 10 });
    expect(up.body).toMatchObject({ priority: 10, position: 0 });
    expect(await line(s, key, q)).toEqual(['200', '300', '100', '400']);
    await call(s, key, 'PUT', `/v1/queues/${q}/callers/${b.uuid}`, { priority: 0 });
    expect(await line(s, key, q)).toEqual(['300', '100', '200', '400']);

    // Ringing leaves the line (position null, listed after the waiting ones); back to waiting, its place.
    const ringing = await call(s, key, 'PUT', `/v1/queues/${q}/callers/${c.uuid}`, { status: 'ringing', member_uuid: agent });
    expect(ringing.body).toMatchObject({ status: 'ringing', position: null, member_uuid: agent });
    expect(await line(s, key, q)).toEqual(['100', '200', '400']);
    const all = (await call(s, key, 'GET', `/v1/queues/${q}/callers`)).body;
    expect(all.map((x: { number: string }) => x.number)).toEqual(['100', '200', '400', '300']);
    await call(s, key, 'PUT', `/v1/queues/${q}/callers/${c.uuid}`, { status: 'waiting' });
    expect(await line(s, key, q)).toEqual(['300', '100', '200', '400']);
    expect((await call(s, key, 'GET', `/v1/queues/${q}/callers/${a.uuid}`)).body).toMatchObject({ position: 1, member_uuid: null });

    // Leaving moves everyone behind up by one: reason from the query, or from the body.
    expect((await call(s, key, 'DELETE', `/v1/queues/${q}/callers/${a.uuid}?reason=abandoned`)).status).toBe(204);
    expect(await line(s, key, q)).toEqual(['300', '200', '400']);
    expect((await call(s, key, 'GET', `/v1/queues/${q}/callers/${d.uuid}`)).body.position).toBe(2);
    await call(s, key, 'PUT', `/v1/queues/${q}/callers/${c.uuid}`, { status: 'connected', member_uuid: agent });
    expect((await call(s, key, 'DELETE', `/v1/queues/${q}/callers/${c.uuid}`, { reason: 'answered' })).status).toBe(204);
    expect(await line(s, key, q)).toEqual(['200', '400']);
    const twice = await call(s, key, 'DELETE', `/v1/queues/${q}/callers/${c.uuid}?reason=answered`);
    expect([twice.status, twice.body.error.code]).toEqual([404, 'caller_not_found']);

    const stats = await call(s, key, 'GET', `/v1/queues/${q}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      callers: 2, callers_waiting: 2, callers_ringing: 0, callers_connected: 0, members: 1, members_logged_in: 1,
      members_available: 1, members_paused: 0, completed: 1, abandoned: 1, timed_out: 0, transferred: 0,
      service_level: 0.5, service_level_seconds: 20, oldest_wait_since: b.created_at, at: expect.stringMatching(ISO),
    });
    expect(stats.body.average_wait).toBeGreaterThanOrEqual(0);
    expect(stats.body.longest_wait).toBeGreaterThanOrEqual(0);

    // The wallboard windows (protocol/calls.md 5.1): the same figures plus members by state and one window.
    for (const window of ['15m', '1h', 'today']) {
      const wb = await call(s, key, 'GET', `/v1/queues/${q}/stats?window=${window}`);
      expect(wb.status).toBe(200);
      expect(validWallboard(wb.body)).toBe(true);
      expect(wb.body).toMatchObject({ callers_waiting: 2, completed: 1, abandoned: 1, members_by_state: { available: 1, busy: 0, wrapup: 0, logged_out: 0, paused: 0 } });
      expect(wb.body.window).toMatchObject({
        window, offered: 4, answered: 1, abandoned: 1, timed_out: 0, transferred: 0, abandon_rate: 0.5, handled: 1,
        answered_within: 1, abandoned_within: 1, service_level: 0.5, start: expect.stringMatching(ISO),
      });
      expect(wb.body.window.average_speed_of_answer).toBeGreaterThanOrEqual(0);
      expect(wb.body.window.average_handle_time).toBeGreaterThanOrEqual(0);
    }
  });

  it('deleting a queue removes its members and callers; the agents stay', async () => {
    const s = srv();
    const { app, key, q } = await setup(s);
    const agent = (await call(s, key, 'POST', '/v1/agents', {})).body.uuid as string;
    await call(s, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001' });
    const caller = (await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number: '6135551234' })).body.uuid as string;
    expect((await call(s, key, 'DELETE', `/v1/queues/${q}`)).status).toBe(204);
    for (const path of [`/v1/queues/${q}/members`, `/v1/queues/${q}/callers`, `/v1/queues/${q}/stats`, `/v1/queues/${q}/callers/${caller}`]) {
      expect((await call(s, key, 'GET', path)).body.error.code).toBe('call_queue_not_found');
    }
    expect(await s.calls.getMember(app, q, agent)).toBeNull();
    expect(await s.calls.getCaller(app, q, caller)).toBeNull();
    expect((await call(s, key, 'GET', `/v1/agents/${agent}`)).status).toBe(200);
    // The agent can join another queue: no membership of the deleted one is left behind.
    const other = (await call(s, key, 'POST', '/v1/queues', { name: 'other' })).body.uuid as string;
    expect((await call(s, key, 'POST', `/v1/queues/${other}/members`, { agent_id: agent, number: '1001' })).status).toBe(201);
  });

  it('deleting an agent removes its memberships in every queue', async () => {
    const s = srv();
    const { key, q } = await setup(s);
    const q2 = (await call(s, key, 'POST', '/v1/queues', { name: 'sales' })).body.uuid as string;
    const [a, b] = [(await call(s, key, 'POST', '/v1/agents', {})).body.uuid, (await call(s, key, 'POST', '/v1/agents', {})).body.uuid];
    for (const queue of [q, q2]) {
      for (const agent of [a, b]) await call(s, key, 'POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: '1001' });
    }
    expect((await call(s, key, 'DELETE', `/v1/agents/${a}`)).status).toBe(204);
    for (const queue of [q, q2]) {
      const members = (await call(s, key, 'GET', `/v1/queues/${queue}/members`)).body;
      expect(members.map((m: { uuid: string }) => m.uuid)).toEqual([b]);
      expect((await call(s, key, 'GET', `/v1/queues/${queue}/members/${a}`)).body.error.code).toBe('member_not_found');
      expect((await call(s, key, 'GET', `/v1/queues/${queue}/stats`)).body.members).toBe(1);
    }
  });

  it('deleting the application deletes its call data', async () => {
    const s = srv();
    const { app, key, q } = await setup(s);
    await call(s, key, 'POST', '/v1/agents', {});
    await call(s, key, 'POST', '/v1/tags', { tag: 'french' });
    await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number: '1' });
    const res = await s.request(`/v1/apps/${app}`, { method: 'DELETE', headers: { authorization: `Admin ${s.adminKey}` } });
    expect(res.status).toBe(200);
    expect(await s.calls.listAgents(app)).toEqual([]);
    expect(await s.calls.listCallQueues(app)).toEqual([]);
    expect(await s.calls.listTags(app)).toEqual([]);
    expect(await s.calls.getCallQueue(app, q)).toBeNull();
  });

  it('the /v1 routes rank above the Queuey /{application}/{queue} routes', async () => {
    const s = srv();
    const { key, q } = await setup(s);
    // `PATCH /v1/queues` would be a Queuey route of an application "v1" if it did not match /v1/queues.
    for (const [path, allow] of [['/v1/queues', 'GET, POST'], [`/v1/queues/${q}`, 'DELETE, GET, PUT'], ['/v1/tags/x/agents', 'GET, POST']]) {
      const res = await s.request(path!, { method: 'PATCH', key });
      expect([res.status, res.headers.get('allow')]).toEqual([405, allow]);
    }
    expect((await call(s, key, 'GET', `/v1/queues/${q}/info`)).body.error.code).toBe('not_found');
  });

  it('serves the JSON Schemas of the resources, with or without a key', async () => {
    const s = srv();
    const { key } = await setup(s);
    for (const name of ['agent', 'queue', 'queue_member', 'queue_caller', 'tag', 'queue_stats']) {
      const file = JSON.parse(readFileSync(new URL(`../../protocol/schemas/calls/${name}.json`, import.meta.url), 'utf8'));
      for (const as of [key, null]) expect(await call(s, as, 'GET', `/v1/schemas/${name}`)).toEqual({ status: 200, body: file });
    }
    expect((await call(s, null, 'GET', '/v1/schemas')).body).toEqual(['agent', 'queue', 'queue_member', 'queue_caller', 'tag', 'queue_stats']);
    const missing = await call(s, null, 'GET', '/v1/schemas/caller');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
    const badKey = await call(s, 'not-a-key', 'GET', '/v1/schemas/agent');
    expect([badKey.status, badKey.body.error.code]).toEqual([401, 'auth_invalid']);
  });
});

describe('readiness includes the call store', () => {
  it.each(engineFactories)('$name: /readyz is 200 while both answer, 503 engine_unavailable once the call store cannot', async (factory) => {
    const engine = await factory.create();
    const callStore = await openCallStore(engine);
    const s = await startTestServer(engine, {}, { callStore });
    try {
      expect(await call(s, null, 'GET', '/readyz')).toEqual({ status: 200, body: { status: 'ok', engine: factory.name } });
      await callStore.close();
      const res = await call(s, null, 'GET', '/readyz');
      // The memory store has nothing to lose; Redis's closed connections cannot answer.
      if (factory.name === 'memory') expect(res.status).toBe(200);
      else expect([res.status, res.body.error.code]).toEqual([503, 'engine_unavailable']);
    } finally {
      await s.close();
      await engine.close();
    }
  });
});
