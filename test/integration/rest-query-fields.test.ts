/**
 * Query fields over real HTTP, on every engine (protocol/rest.md "Conventions", "Order of checks"):
 * on the application and message-queue routes the router refuses a query field the route's OpenAPI
 * description does not list, before the route runs, with one error body, and nothing stored
 * changes; the fields a route documents still work, and so do the routes that read their own query
 * (the call-queue and events routes) or ignore one.
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, snapshot, useSharedServer, type TestServer } from '../helpers/server.js';

const TEXT = { 'content-type': 'text/plain' };

interface Posted {
  message_id: string;
  partition: number;
  in_reply_to?: string;
}

async function fixture(s: TestServer) {
  const { name: app, key } = await s.createApp();
  expect((await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: '{"queue_name":"q","partitions":3}' })).status).toBe(201);
  const posted = await s.request(`/${app}/q`, { method: 'POST', key, headers: JSON_CT, body: '{"body":"first","partition":1}' });
  const first = ((await posted.json()) as { messages: Posted[] }).messages[0]!.message_id;
  return { app, key, first };
}

describe.each(engineFactories)('REST query fields ($name)', (factory) => {
  const srv = useSharedServer(factory);

  it('refuses a field the route does not take with one error body, before credentials, and stores nothing', async () => {
    const s = srv();
    const { app, key, first } = await fixture(s);
    const admin = `Admin ${s.adminKey}`;
    const cases: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string; key?: string; field: string }> = [
      { method: 'GET', path: `/${app}/q?since=0&partition=2`, key, field: 'partition' },
      { method: 'GET', path: `/${app}?details&detail=1`, key, field: 'detail' },
      { method: 'POST', path: `/${app}/q?priority=1`, headers: JSON_CT, body: '{"body":"x"}', key, field: 'priority' },
      { method: 'POST', path: `/${app}/q?priority=1`, headers: FORM, body: 'body=x', key, field: 'priority' },
      { method: 'POST', path: `/${app}/q?priority=1`, headers: TEXT, body: 'x', key, field: 'priority' },
      // Documented for a raw body only: a JSON or form body carries its own.
      { method: 'POST', path: `/${app}/q?partition=2`, headers: FORM, body: 'body=x', key, field: 'partition' },
      { method: 'PUT', path: `/${app}/q/${first}?partition=2`, headers: TEXT, body: 'x', key, field: 'partition' },
      { method: 'DELETE', path: `/${app}/q?force=1`, key, field: 'force' },
      { method: 'DELETE', path: `/${app}/q/${first}?partition=1`, key, field: 'partition' },
      { method: 'PUT', path: `/${app}/q/${first}/client_state/done?if=none`, key, field: 'if' },
      // Before credentials and existence: no key, another scheme, an unknown queue.
      { method: 'DELETE', path: `/${app}/q?force=1`, field: 'force' },
      { method: 'GET', path: `/${app}/nope?force=1`, key, field: 'force' },
      { method: 'DELETE', path: `/v1/apps/${app}?force=1`, headers: { authorization: admin }, field: 'force' },
      { method: 'GET', path: '/v1/apps?limit=1', field: 'limit' },
    ];
    const before = await snapshot(s.engine, [app]);
    for (const c of cases) {
      const res = await s.request(c.path, { method: c.method, headers: c.headers, body: c.body, key: c.key });
      expect({ route: `${c.method} ${c.path}`, status: res.status, body: await res.json() }).toEqual({
        route: `${c.method} ${c.path}`,
        status: 400,
        body: { status: 'error', error: { code: 'invalid_field', field: c.field, message: `Unknown query field ${c.field}` } },
      });
    }
    expect(await snapshot(s.engine, [app])).toEqual(before);
    // The query's encoding is checked with its fields: a repeated one is bad_request, as before.
    expect((await s.request(`/${app}/q?force=1&force=1`, { method: 'DELETE', key })).status).toBe(400);
    expect(await snapshot(s.engine, [app])).toEqual(before);
  });

  it('takes the fields each route documents', async () => {
    const s = srv();
    const { app, key, first } = await fixture(s);
    const list = await s.request(`/${app}?limit=1&details=yes&include_count`, { key });
    expect(await list.json()).toEqual({ status: 'ok', queues: [expect.objectContaining({ queue_name: 'q', count: 1 })] });
    const info = await s.request(`/${app}/q/info?include_count=true`, { key });
    expect(await info.json()).toMatchObject({ status: 'ok', queue_name: 'q', count: 1 });

    const raw = await s.request(`/${app}/q?partition=2&ttl=60&in_reply_to=${first}`, { method: 'POST', key, headers: TEXT, body: 'raw reply' });
    expect(raw.status, await raw.clone().text()).toBe(201);
    const reply = ((await raw.json()) as { messages: Posted[] }).messages[0]!;
    expect(reply).toMatchObject({ partition: 2 });
    const put = await s.request(`/${app}/q/${reply.message_id}?ttl=30`, { method: 'PUT', key, headers: TEXT, body: 'raw reply, edited' });
    expect(await put.json()).toMatchObject({ status: 'ok', message: { body: 'raw reply, edited', partition: 2, in_reply_to: first } });

    const read = await s.request(`/${app}/q?partitions=1,2&order=descending&limit=1`, { key });
    expect(((await read.json()) as { messages: Array<{ body: string }> }).messages.map((m) => m.body)).toEqual(['raw reply, edited']);
    const replies = await s.request(`/${app}/q/${first}/replies?limit=5&order=ascending`, { key });
    expect(((await replies.json()) as { messages: Posted[] }).messages.map((m) => m.message_id)).toEqual([reply.message_id]);
    const claim = await s.request(`/${app}/q/${first}/client_state/processing?if_state=none`, { method: 'PUT', key });
    expect(await claim.json()).toMatchObject({ status: 'ok', message: { client_state: 'processing' } });
    const again = await s.request(`/${app}/q/${first}/client_state/processing?if_state=none`, { method: 'PUT', key });
    expect(again.status).toBe(409);
  });

  it('leaves the query to the routes that read their own, and to those that ignore one', async () => {
    const s = srv();
    const { key } = await s.createApp();
    const auth = { authorization: `Application ${key}`, ...JSON_CT };
    const queue = (await (await s.request('/v1/queues', { method: 'POST', headers: auth, body: '{"name":"support"}' })).json()) as { uuid: string };
    const caller = (await (await s.request(`/v1/queues/${queue.uuid}/callers`, { method: 'POST', headers: auth, body: '{"number":"100"}' })).json()) as { uuid: string };
    // Call-queue routes: query strings ignored except where read (rest-calls.md "Conventions").
    expect((await s.request('/v1/tags?page=2', { headers: auth })).status).toBe(200);
    expect((await s.request(`/v1/queues/${queue.uuid}/stats?window=1h`, { headers: auth })).status).toBe(200);
    const stats = await s.request(`/v1/queues/${queue.uuid}/stats?windows=1h`, { headers: auth });
    expect((await stats.json()) as unknown).toMatchObject({ error: { code: 'invalid_field', field: 'windows' } });
    expect((await s.request(`/v1/queues/${queue.uuid}/callers/${caller.uuid}?reason=answered`, { method: 'DELETE', headers: auth })).status).toBe(204);
    // Panko's repeated q.* parameters, and its own error for an unknown one (events.md).
    expect((await s.request('/v1/events?q.field=event_type&q.value=queue.caller.join&q.field=queue_id&q.value=x', { headers: auth })).status).toBe(200);
    expect(await (await s.request('/v1/event_types?force=1', { headers: auth })).json()).toMatchObject({ error: { code: 'invalid_query', field: 'force' } });
    expect((await s.request('/healthz?probe=1')).status).toBe(200);
  });
});
