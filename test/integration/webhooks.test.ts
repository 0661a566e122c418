/**
 * Webhooks end to end (protocol/webhooks.md) against real HTTP receivers on loopback, on both
 * engines: every matching event POSTed, signed, in log order; retries after failures; a receiver
 * that never answers or answers late delays no other endpoint (asserted by counts and order, never
 * by durations); the delivery state; bad input on every route; application isolation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HoldlineEvent } from '../../src/engine/events.js';
import { type EventNode, type EventNodeKind, startEventNode } from '../helpers/event-nodes.js';
import { until } from '../helpers/wait.js';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'a-long-shared-secret-1234';
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Retries quickly; a POST may take its time (a "slow" receiver is held by the test, not by a clock). */
const FAST = { webhookRetryBaseMs: 20, webhookRetryMaxMs: 100, webhookTimeoutMs: 60_000, webhookLeaseMs: 3000 };

let nodes: EventNode[] = [];
let receivers: Receiver[] = [];

afterEach(async () => {
  for (const r of receivers) await r.close();
  for (const n of nodes) await n.close();
  nodes = [];
  receivers = [];
});

async function node(kind: EventNodeKind, overrides = {}, shared = {}): Promise<EventNode> {
  const n = await startEventNode(kind, { ...FAST, ...overrides }, shared);
  nodes.push(n);
  return n;
}

async function receiver(behaviour: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(behaviour, SECRET);
  receivers.push(r);
  return r;
}

async function register(n: EventNode, key: string, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await n.request('/v1/webhooks', { method: 'POST', key, headers: JSON_HEADERS, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; secret: string };
}

interface DeliveryView {
  delivery: {
    cursor: number;
    backlog: number;
    attempts: number;
    last_success: { at: number; event_id: string } | null;
    last_error: { error: string; status: number | null; event_id: string | null } | null;
  };
}

async function state(n: EventNode, key: string, id: string): Promise<DeliveryView['delivery']> {
  const res = await n.request(`/v1/webhooks/${id}`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as DeliveryView).delivery;
}

describe.each(['memory', 'redis'] as const)('webhooks on %s', (kind) => {
  it('POSTs every event, signed, in log order, with the documented headers', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const r = await receiver({ kind: 'ok' });
    const hook = await register(n, key, { url: r.url, secret: SECRET });
    expect(hook.secret).toBe(SECRET);
    for (let i = 0; i < 5; i++) await n.tag(key, `t${i}`);
    const logged = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create');
    expect(logged).toHaveLength(5);
    await until(() => r.accepted().length >= 5, { what: 'five deliveries' });
    expect(r.accepted()).toEqual(logged.map((e) => e.event.message_id));
    for (const [i, got] of r.received.entries()) {
      expect(got.verified).toBe(true);
      expect(got.webhookId).toBe(hook.id);
      expect(got.eventType).toBe('tag.create');
      expect(JSON.parse(got.body) as HoldlineEvent).toEqual(logged[i]!.event);
    }
    // A receiver with the wrong secret would not accept them.
    r.secret = 'another-secret-entirely';
    await n.tag(key, 'late');
    await until(() => r.received.length >= 6, { what: 'a sixth delivery' });
    expect(r.received[5]!.verified).toBe(false);
    const s = await state(n, key, hook.id);
    await until(async () => (await state(n, key, hook.id)).backlog === 0, { what: 'backlog 0' });
    expect(s.last_error).toBeNull();
  });

  it('delivers only the filtered types; the cursor moves over the others', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const r = await receiver({ kind: 'ok' });
    const hook = await register(n, key, { url: r.url, secret: SECRET, event_types: ['tag.delete', 'agent.*'] });
    await n.tag(key, 'a');
    await n.tag(key, 'b');
    expect((await n.request('/v1/tags/a', { method: 'DELETE', key })).status).toBe(204);
    const agent = await n.request('/v1/agents', { method: 'POST', key, headers: JSON_HEADERS, body: JSON.stringify({ name: 'Ann' }) });
    expect(agent.status).toBe(201);
    const wanted = (await n.events(name)).filter((e) => e.event.event_type === 'tag.delete' || e.event.event_type.startsWith('agent.'));
    expect(wanted.map((e) => e.event.event_type)).toEqual(['tag.delete', 'agent.create']);
    await until(() => r.accepted().length >= 2, { what: 'two deliveries' });
    expect(r.accepted()).toEqual(wanted.map((e) => e.event.message_id));
    await until(async () => (await state(n, key, hook.id)).backlog === 0, { what: 'the cursor at the end of the log' });
  });

  it('retries a receiver that fails N times, in order, then records the success', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const r = await receiver({ kind: 'failing', times: 3 });
    const hook = await register(n, key, { url: r.url, secret: SECRET });
    await n.tag(key, 'x');
    await n.tag(key, 'y');
    const ids = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
    await until(() => r.accepted().length >= 2, { what: 'both delivered' });
    // The first event was tried four times (three 500s, then 204) before the second was sent once.
    expect(r.received.map((h) => h.eventId)).toEqual([ids[0], ids[0], ids[0], ids[0], ids[1]]);
    expect(r.accepted()).toEqual(ids);
    expect(r.received.every((h) => h.verified)).toBe(true);
    const s = await state(n, key, hook.id);
    expect(s.attempts).toBe(0);
    expect(s.last_error).toMatchObject({ error: 'HTTP 500', status: 500, event_id: ids[0] });
    expect(s.last_success?.event_id).toBe(ids[1]);
  });

  it('a receiver that never answers and a slow one delay no other endpoint', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const dead = await receiver({ kind: 'silent' });
    const slow = await receiver({ kind: 'slow' });
    const ok = await receiver({ kind: 'ok' });
    const deadHook = await register(n, key, { url: dead.url, secret: SECRET });
    await register(n, key, { url: slow.url, secret: SECRET });
    await register(n, key, { url: ok.url, secret: SECRET });
    for (let i = 0; i < 20; i++) await n.tag(key, `t${i}`);
    const ids = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
    // The healthy endpoint gets all twenty while the other two still hold their first event.
    await until(() => ok.accepted().length >= 20, { what: 'the healthy endpoint to get every event' });
    expect(ok.accepted()).toEqual(ids);
    expect(dead.received.map((h) => h.eventId)).toEqual([ids[0]]);
    expect(slow.received.map((h) => h.eventId)).toEqual([ids[0]]);
    expect(dead.held()).toBe(1);
    // The event log was not held up either: a change answers and is recorded meanwhile.
    await n.tag(key, 'meanwhile');
    await until(() => ok.accepted().length >= 21, { what: 'the healthy endpoint to get the next one too' });
    // The slow receiver answers: it gets the rest, in order.
    await until(() => {
      slow.release();
      return slow.accepted().length >= 21;
    }, { what: 'the slow endpoint to catch up' });
    expect(slow.accepted()).toEqual(ok.accepted());
    const s = await state(n, key, deadHook.id);
    expect(s.backlog).toBeGreaterThanOrEqual(21);
    expect(s.last_success).toBeNull();
  });

  it('refuses bad input on every route and changes nothing', async () => {
    const n = await node(kind, { webhookAllowedHosts: ['127.0.0.1', '*.example.com'] });
    const { key } = await n.createApp();
    const post = (body: string, headers: Record<string, string> = JSON_HEADERS, k: string | null = key) =>
      n.request('/v1/webhooks', { method: 'POST', ...(k === null ? {} : { key: k }), headers, body });
    const cases: Array<[string, Response, number, string, string?]> = [
      ['no url', await post('{}'), 400, 'missing_field', 'url'],
      ['ftp', await post(JSON.stringify({ url: 'ftp://127.0.0.1/x' })), 400, 'invalid_field', 'url'],
      ['not a url', await post(JSON.stringify({ url: 'http://' })), 400, 'invalid_field', 'url'],
      ['credentials', await post(JSON.stringify({ url: 'http://u:p@127.0.0.1/x' })), 400, 'invalid_field', 'url'],
      ['empty fragment', await post(JSON.stringify({ url: 'http://127.0.0.1/x#' })), 400, 'invalid_field', 'url'],
      // 1100 characters sent, 6000 once percent-encoded: over the 2048 a stored URL may have.
      ['long once encoded', await post(JSON.stringify({ url: `http://127.0.0.1/${'é'.repeat(1000)}` })), 400, 'invalid_field', 'url'],
      ['host refused', await post(JSON.stringify({ url: 'http://169.254.169.254/latest' })), 400, 'webhook_host_not_allowed', 'url'],
      ['apex not a subdomain', await post(JSON.stringify({ url: 'https://example.com/x' })), 400, 'webhook_host_not_allowed', 'url'],
      ['bad type', await post(JSON.stringify({ url: 'http://127.0.0.1/x', event_types: ['Tag Create'] })), 400, 'invalid_field', 'event_types'],
      ['empty types', await post(JSON.stringify({ url: 'http://127.0.0.1/x', event_types: [] })), 400, 'invalid_field', 'event_types'],
      ['short secret', await post(JSON.stringify({ url: 'http://127.0.0.1/x', secret: 'short' })), 400, 'invalid_field', 'secret'],
      ['unknown field', await post(JSON.stringify({ url: 'http://127.0.0.1/x', retries: 3 })), 400, 'invalid_field', 'retries'],
      ['array body', await post('[]'), 400, 'bad_request'],
      ['bad json', await post('{"url":'), 400, 'invalid_json'],
      ['form', await post('url=http://127.0.0.1/x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
      ['no key', await post(JSON.stringify({ url: 'http://127.0.0.1/x' }), JSON_HEADERS, null), 401, 'auth_required'],
      ['bad key', await post(JSON.stringify({ url: 'http://127.0.0.1/x' }), JSON_HEADERS, 'nope'), 401, 'auth_invalid'],
      ['get unknown', await n.request('/v1/webhooks/0123456789abcdef', { key }), 404, 'webhook_not_found'],
      ['get malformed', await n.request('/v1/webhooks/..%2Fx', { key }), 404, 'webhook_not_found'],
      ['delete unknown', await n.request('/v1/webhooks/0123456789abcdef', { method: 'DELETE', key }), 404, 'webhook_not_found'],
      ['list no key', await n.request('/v1/webhooks'), 401, 'auth_required'],
    ];
    for (const [what, res, status, code, field] of cases) {
      expect(res.status, what).toBe(status);
      const body = (await res.json()) as { error: { code: string; field?: string } };
      expect(body.error.code, what).toBe(code);
      if (field !== undefined) expect(body.error.field, what).toBe(field);
    }
    const list = await n.request('/v1/webhooks', { key });
    expect(await list.json()).toEqual([]);
    // Allowed: the listed host, a subdomain of the wildcard.
    await register(n, key, { url: 'http://127.0.0.1:9/x' });
    await register(n, key, { url: 'https://hooks.example.com/x' });
    // The limit: 32 per application.
    for (let i = 2; i < 32; i++) await register(n, key, { url: `http://127.0.0.1:9/${i}` });
    const over = await post(JSON.stringify({ url: 'http://127.0.0.1:9/x' }));
    expect(over.status).toBe(409);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('webhook_limit');
    expect((await (await n.request('/v1/webhooks', { key })).json()) as unknown[]).toHaveLength(32);
  });

  it('isolates applications: B never sees, reads, deletes or receives A\'s webhooks', async () => {
    const n = await node(kind);
    const a = await n.createApp();
    const b = await n.createApp();
    const ra = await receiver({ kind: 'ok' });
    const hookA = await register(n, a.key, { url: ra.url, secret: SECRET });
    expect(await (await n.request('/v1/webhooks', { key: b.key })).json()).toEqual([]);
    expect((await n.request(`/v1/webhooks/${hookA.id}`, { key: b.key })).status).toBe(404);
    expect((await n.request(`/v1/webhooks/${hookA.id}`, { method: 'DELETE', key: b.key })).status).toBe(404);
    await n.tag(b.key, 'b-only');
    await n.tag(a.key, 'a-only');
    await until(() => ra.accepted().length >= 1, { what: "A's event" });
    await n.tag(a.key, 'a-again');
    await until(() => ra.accepted().length >= 2, { what: "A's second event" });
    const projects = ra.received.map((h) => (JSON.parse(h.body) as HoldlineEvent).traits.find((t) => t.name === 'project_id')?.value);
    expect(new Set(projects)).toEqual(new Set([a.name]));
    const listed = (await (await n.request('/v1/webhooks', { key: a.key })).json()) as Array<{ id: string; secret?: string }>;
    expect(listed.map((w) => w.id)).toEqual([hookA.id]);
    expect(listed[0]!.secret).toBeUndefined();
    // Deleting A deletes its endpoints: a new A starts without them.
    expect((await n.request(`/v1/apps/${a.name}`, { method: 'DELETE', headers: { authorization: `Admin ${n.adminKey}` } })).status).toBe(200);
    const again = await n.createApp(a.name);
    expect(await (await n.request('/v1/webhooks', { key: again.key })).json()).toEqual([]);
  });

  it('DELETE stops deliveries', async () => {
    const n = await node(kind);
    const { key } = await n.createApp();
    const r = await receiver({ kind: 'ok' });
    const hook = await register(n, key, { url: r.url, secret: SECRET });
    await n.tag(key, 'one');
    await until(() => r.accepted().length >= 1, { what: 'the first delivery' });
    expect((await n.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', key })).status).toBe(204);
    expect((await n.request(`/v1/webhooks/${hook.id}`, { key })).status).toBe(404);
    await until(() => n.server.webhooks.delivering.length === 0, { what: 'the worker to stop' });
    await n.tag(key, 'two');
    // A second endpoint registered after it sees the new event: the first never does.
    const r2 = await receiver({ kind: 'ok' });
    await register(n, key, { url: r2.url, secret: SECRET });
    await n.tag(key, 'three');
    await until(() => r2.accepted().length >= 1, { what: 'the new endpoint' });
    expect(r.received).toHaveLength(1);
  });
});

describe('webhooks and the event log\'s retention', () => {
  it('passes over the events reclaimed before they were delivered, the one being retried too', async () => {
    // The dispatcher is the same on both engines; memory applies retention at every event.
    const n = await node('memory', {}, { memory: { eventRetention: { maxEvents: 3 } } });
    const { name, key } = await n.createApp();
    const r = await receiver({ kind: 'down' });
    const hook = await register(n, key, { url: r.url, secret: SECRET });
    await n.tag(key, 'first');
    await until(() => r.received.length >= 2, { what: 'the first event retried' });
    for (const tag of ['b', 'c', 'd', 'e', 'f']) await n.tag(key, tag);
    const held = (await n.events(name)).map((e) => e.event.message_id);
    expect(held).toHaveLength(3);
    // "Retried for as long as the event log keeps it" (webhooks.md): the receiver still down, the
    // cursor moves past the first event and b and c, gone (the "3 events were reclaimed" report is
    // then overwritten by the failures of d).
    await until(async () => (await state(n, key, hook.id)).cursor === 4, { what: 'the reclaimed events passed over' });
    r.release();
    await until(() => r.accepted().length >= 3, { what: 'the events still held' });
    expect(r.accepted()).toEqual(held);
  });
});
