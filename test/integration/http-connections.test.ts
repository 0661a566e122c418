/**
 * What a raw HTTP client sees of connections (protocol/rest.md "Connections"), pinned where it is a
 * limit of uWebSockets.js 20.30 that JavaScript cannot change: no pipelining behind a request that
 * waits, no HTTP/1.0, idle keep-alive connections closed after 8–12 s (advertised as 5 s). And the
 * probes, which never read credentials.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { head, rawConnect } from '../helpers/raw-http.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { JSON_CT, startTestServer, useServer, type TestServer } from '../helpers/server.js';

const memory = engineFactories.find((f) => f.name === 'memory')!;

async function queueOf(s: TestServer): Promise<{ key: string; path: string }> {
  const { name, key } = await s.createApp();
  const res = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', consistency: 'weak' }) });
  expect(res.status).toBe(201);
  return { key, path: `/${name}/q` };
}

async function bodies(s: TestServer, path: string, key: string): Promise<string[]> {
  const res = await s.request(path, { key });
  return ((await res.json()) as { messages: Array<{ body: string }> }).messages.map((m) => m.body);
}

const post = (path: string, key: string, body: string) =>
  head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Content-Length': body.length }) + body;

describe('pipelining behind a request that waits on Redis', () => {
  // Its own Redis: the test pauses it.
  let redis: RedisServerHandle;
  let s: TestServer;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    const engine = new RedisEngine({ url: redis.url, prefix: freshPrefix('pipe') });
    await engine.start();
    s = await startTestServer(engine);
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
    await s.close();
    await s.engine.close();
  });

  it('closes the connection: the pipelined request does not run, the one in progress may have', async () => {
    const { key, path } = await queueOf(s);
    const c = await rawConnect(s.port);
    // Writes (and scripts) wait while Redis is paused; CLIENT UNPAUSE still gets through.
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    await c.write(post(path, key, 'first'));
    await vi.waitFor(() => expect(s.server.inflight).toBe(1));
    await c.write(post(path, key, 'pipelined'));
    expect((await c.closed).received).toBe('');
    await admin.call('CLIENT', 'UNPAUSE');
    // The first post went to Redis before the close: it runs once Redis is unpaused, unanswered.
    await vi.waitFor(async () => expect(await bodies(s, path, key)).toEqual(['first']));
  });

  it('two requests in one write: the same', async () => {
    const { key, path } = await queueOf(s);
    const c = await rawConnect(s.port);
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    await c.write(post(path, key, 'first') + post(path, key, 'pipelined'));
    expect((await c.closed).received).toBe('');
    await admin.call('CLIENT', 'UNPAUSE');
    await vi.waitFor(async () => expect(await bodies(s, path, key)).toEqual(['first']));
  });

  it('one request at a time on a connection is answered in order', async () => {
    const { key, path } = await queueOf(s);
    const c = await rawConnect(s.port);
    await c.write(post(path, key, 'one'));
    await c.responses(1);
    await c.write(post(path, key, 'two'));
    const [a, b] = await c.responses(2);
    expect([a!.status, b!.status]).toEqual([201, 201]);
    c.destroy();
    expect(await bodies(s, path, key)).toEqual(['one', 'two']);
  });
});

describe('idle connections and HTTP/1.0', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await memory.create());
  });
  afterAll(async () => {
    await s.close();
    await s.engine.close();
  });

  it('every answer that keeps the connection advertises Keep-Alive: timeout=5', async () => {
    const res = await s.request('/healthz');
    expect(res.headers.get('keep-alive')).toBe('timeout=5');
    const missing = await s.request('/nobody/q');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('keep-alive')).toBe('timeout=5');
  });

  it.concurrent('an idle keep-alive connection stays open at least the advertised 5 s, then the server closes it', async () => {
    const c = await rawConnect(s.port);
    await c.write(head('GET /healthz'));
    await c.responses(1);
    const answered = Date.now();
    const { received } = await c.closed;
    expect(Date.now() - answered).toBeGreaterThanOrEqual(5000);
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it.concurrent('an HTTP/1.0 request is never answered nor run; the connection is closed when idle', async () => {
    const { key, path } = await queueOf(s);
    const c = await rawConnect(s.port);
    await c.write(post(path, key, 'from 1.0').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'));
    expect((await c.closed).received).toBe('');
    expect(await bodies(s, path, key)).toEqual([]);
  });
});

describe('probes never read credentials', () => {
  const srv = useServer(memory);

  it('/healthz and /readyz answer 200 whatever the Authorization header says', async () => {
    const s = srv();
    for (const authorization of ['Application not-a-key', 'Admin wrong', 'garbage']) {
      for (const probe of ['/healthz', '/readyz']) {
        const res = await s.request(probe, { headers: { authorization } });
        expect(res.status).toBe(200);
      }
    }
  });
});
