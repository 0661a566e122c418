/**
 * GET /v1/capabilities (protocol/capabilities.md) on both engines: the engine part tells the truth
 * about the configured storage (memory; Redis without replicas; Redis with a replica, where strong
 * and very_strong are enforced), the API part is flattened booleans, no key is needed but a
 * presented one is checked, and features announced as absent really are absent.
 * On Redis Cluster: test/cluster/nodes-cluster.test.ts.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { Engine } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { WsTestClient, startWsServer } from '../helpers/ws-client.js';
import { until } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Capabilities {
  api: Record<string, boolean>;
  engine: Record<string, string | boolean>;
}

async function capabilities(s: TestServer, headers: Record<string, string> = {}): Promise<Capabilities> {
  const res = await s.request('/v1/capabilities', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as Capabilities;
}

async function serve(engine: Engine, overrides: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const s = await startTestServer(engine, overrides);
  cleanups.push(async () => {
    await s.close();
    await engine.close();
  });
  return s;
}

describe.each(engineFactories)('GET /v1/capabilities ($name)', (factory) => {
  it('reports the engine and flattened API booleans, without a key', async () => {
    const s = await serve(await factory.create());
    const caps = await capabilities(s);
    expect(Object.keys(caps).sort()).toEqual(['api', 'engine', 'event_storage']);
    for (const [name, value] of Object.entries(caps.api)) {
      expect(typeof value, name).toBe('boolean');
      // Holdline's dotted names, and Panko's own colon-separated ones (events:query:simple).
      expect(name).toMatch(/^[a-z_]+((\.[a-z_]+)*|(:[a-z_]+)+)$/);
    }
    expect(caps.api).toMatchObject({ events: true, 'events:query:simple': true });
    expect((caps as unknown as { event_storage: unknown }).event_storage).toEqual({ 'storage:production_ready': factory.name === 'redis' });
    expect(caps.api).toMatchObject({ 'queues.partitions': true, 'calls.callers': true, 'websocket.subscribe.resume': true, 'apps.admin': true });
    expect(caps.engine).toEqual(
      factory.name === 'memory'
        ? { kind: 'memory', persistence: false, multi_node: false, cluster: false, 'consistency.weak': true, 'consistency.strong': false, 'consistency.very_strong': false }
        : // The run's redis-server has no replica: strong and very_strong are accepted, not enforced.
          { kind: 'redis', persistence: true, multi_node: true, cluster: false, 'consistency.weak': true, 'consistency.strong': false, 'consistency.very_strong': false },
    );
  });

  it('answers the api names and values protocol/capabilities.md shows, each explained in its table', async () => {
    const s = await serve(await factory.create());
    const caps = await capabilities(s);
    const doc = readFileSync('protocol/capabilities.md', 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(doc)![1]!) as Capabilities;
    expect(example.api).toEqual(caps.api);
    const table = doc.slice(doc.indexOf('## `api`'), doc.indexOf('## `event_storage`'));
    const explained = [...table.matchAll(/^\| (.+?) \|/gm)].flatMap((row) => [...row[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    expect(explained.sort()).toEqual(Object.keys(caps.api).sort());
  });

  it('says the admin routes are off without an operator key', async () => {
    const s = await serve(await factory.create(), { adminKey: undefined });
    expect((await capabilities(s)).api['apps.admin']).toBe(false);
    expect((await s.request('/v1/apps', { headers: { authorization: 'Admin x' } })).status).toBe(403);
  });

  it('checks presented credentials: a valid key or admin key is fine, a wrong one is 401', async () => {
    const s = await serve(await factory.create());
    const { key } = await s.createApp();
    await capabilities(s, { authorization: `Application ${key}` });
    await capabilities(s, { authorization: `Admin ${s.adminKey}` });
    for (const authorization of ['Application nope', 'Admin nope', 'Agent hlt_nope']) {
      const res = await s.request('/v1/capabilities', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('auth_invalid');
    }
    expect((await s.request('/v1/capabilities', { headers: { authorization: 'garbage' } })).status).toBe(401);
  });

  it('announces as absent only what is absent', async () => {
    const engine = await factory.create();
    const ws = await startWsServer(engine);
    cleanups.push(async () => {
      await ws.close();
      await engine.close();
    });
    const caps = await capabilities(ws.server);
    const { name: appName, key } = await ws.server.createApp();
    // Served at all: 200 for an application's key (these paths are otherwise reserved names).
    const served = async (path: string): Promise<boolean> => (await ws.server.request(path, { key })).status === 200;
    expect(await served('/metrics')).toBe(caps.api.metrics);
    expect(await served('/openapi.json')).toBe(caps.api.openapi);
    expect(await served('/console')).toBe(caps.api.console);
    expect(await served('/v1/events')).toBe(caps.api.events);
    expect(await served('/v1/schemas')).toBe(caps.api['calls.schemas']);
    const c = await WsTestClient.open(ws.url, { key });
    const reply = await c.request({ type: 'callqueue.subscribe', queue_id: '00000000-0000-4000-8000-000000000000' });
    const notImplemented = reply.type === 'error' && reply.error.code === 'not_implemented';
    expect(!notImplemented).toBe(caps.api['websocket.callqueue']);
    // Processing state: state.set sets it (messages.processing_state, websocket.state); REST reads
    // carry it (messages.processing_state.rest); a compare-and-set that fails is a 409 (…cas).
    expect((await ws.server.request(`/${appName}`, { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue_name: 'caps', partitions: 1 }) })).status).toBe(201);
    const published = await c.request({ type: 'publish', application: appName, queue: 'caps', messages: [{ body: 'x' }] });
    const id = published.type === 'published' ? published.messages[0]!.message_id : '';
    const set = await c.request({ type: 'state.set', application: appName, queue: 'caps', partition: 1, message_id: id, client_state: 'done' });
    expect(set.type === 'state.updated' && set.message.client_state === 'done').toBe(caps.api['messages.processing_state']);
    expect(caps.api['websocket.state']).toBe(caps.api['messages.processing_state']);
    const read = (await (await ws.server.request(`/${appName}/caps/${id}`, { key })).json()) as { message: Record<string, unknown> };
    expect('client_state' in read.message).toBe(caps.api['messages.processing_state.rest']);
    const cas = await ws.server.request(`/${appName}/caps/${id}/client_state/again?if_state=none`, { method: 'PUT', key });
    expect(cas.status === 409).toBe(caps.api['messages.processing_state.cas']);
    const replies = await ws.server.request(`/${appName}/caps/${id}/replies`, { key });
    expect(replies.status === 200).toBe(caps.api['messages.replies']);
    const filtered = (await (await ws.server.request(`/${appName}/caps?client_state=none`, { key })).json()) as { messages: unknown[] };
    expect(filtered.messages.length === 0).toBe(caps.api['messages.read.filters']);
    await c.close();
  });
});

describe('GET /v1/capabilities (redis with a replica)', () => {
  let primary: RedisServerHandle | undefined;
  let replica: RedisServerHandle | undefined;
  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
  });

  it('reports strong and very_strong once the primary has a replica', async () => {
    // No delay before the first full sync (the default waits 5 s for more replicas).
    primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const r = new Redis(replica.port, '127.0.0.1');
    try {
      await until(async () => /master_link_status:up/.test(await r.info('replication')), { what: 'the replica to sync' });
    } finally {
      r.disconnect();
    }
    const engine = new RedisEngine({ url: primary.url, prefix: freshPrefix('caps') });
    await engine.start();
    const s = await serve(engine, { engine: 'redis', redisUrl: primary.url });
    expect((await capabilities(s)).engine).toEqual({
      kind: 'redis',
      persistence: true,
      multi_node: true,
      cluster: false,
      'consistency.weak': true,
      'consistency.strong': true,
      'consistency.very_strong': true,
    });
  });
});
