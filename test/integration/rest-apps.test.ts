/**
 * SPEC.md section 6 (applications and keys behind the admin key) and 3.6 (healthz/readyz), plus the
 * server's graceful close: in-flight requests finish, new ones are refused.
 */
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { FORM, JSON_CT, errorCode, startTestServer, useServer } from '../helpers/server.js';

describe.each(engineFactories)('REST applications ($name)', (factory) => {
  const srv = useServer(factory);

  it('creates, lists and revokes applications with the admin key', async () => {
    const s = srv();
    const admin = { authorization: `Admin ${s.adminKey}` };
    const res = await s.request('/v1/apps', { method: 'POST', headers: { ...admin, ...JSON_CT }, body: '{"name":"Alpha_1"}' });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { status: string; application_name: string; key: string; created: number };
    expect(created).toMatchObject({ status: 'ok', application_name: 'Alpha_1' });
    expect(created.key).toMatch(/^\S{16,}$/);
    const form = await s.request('/v1/apps', { method: 'POST', headers: { ...admin, ...FORM }, body: 'name=beta' });
    expect(form.status).toBe(201);

    const list = await s.request('/v1/apps', { headers: admin });
    expect(await list.json()).toEqual({
      status: 'ok',
      applications: [
        { application_name: 'Alpha_1', created: created.created },
        { application_name: 'beta', created: expect.any(Number) },
      ],
    });
    // The key works on the application's own routes.
    expect((await s.request('/Alpha_1', { key: created.key })).status).toBe(200);

    const del = await s.request('/v1/apps/Alpha_1', { method: 'DELETE', headers: admin });
    expect([del.status, await del.json()]).toEqual([200, { status: 'ok' }]);
    expect(await (await s.request('/v1/apps', { headers: admin })).json()).toMatchObject({ applications: [{ application_name: 'beta' }] });
    const after = await s.request('/Alpha_1', { key: created.key });
    expect([after.status, await errorCode(after)]).toEqual([401, 'auth_invalid']);
  });

  it('serves healthz and readyz', async () => {
    const s = srv();
    expect([(await s.request('/healthz')).status, await (await s.request('/healthz')).json()]).toEqual([200, { status: 'ok' }]);
    const ready = await s.request('/readyz');
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok', engine: factory.name }]);
  });
});

describe('REST admin routes without HOLDLINE_ADMIN_KEY', () => {
  it('refuses every admin route with 403 admin_disabled', async () => {
    const s = await startTestServer(new MemoryEngine(), { adminKey: '' });
    await s.engine.start();
    try {
      for (const [method, path] of [['POST', '/v1/apps'], ['GET', '/v1/apps'], ['DELETE', '/v1/apps/x']] as const) {
        const res = await s.request(path, { method, headers: { authorization: 'Admin anything', ...JSON_CT }, body: method === 'POST' ? '{"name":"x"}' : null });
        expect([method, res.status, await errorCode(res)]).toEqual([method, 403, 'admin_disabled']);
      }
      expect(await s.engine.listApps()).toEqual([]);
    } finally {
      await s.close();
      await s.engine.close();
    }
  });
});

describe('readyz when the engine is unreachable', () => {
  it('answers 503 engine_unavailable once the memory engine is closed', async () => {
    const engine = new MemoryEngine();
    await engine.start();
    const s = await startTestServer(engine);
    try {
      expect((await s.request('/readyz')).status).toBe(200);
      await engine.close();
      const res = await s.request('/readyz');
      expect([res.status, await errorCode(res)]).toEqual([503, 'engine_unavailable']);
      expect((await s.request('/healthz')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('answers 503 engine_unavailable when its redis-server stops', async () => {
    const redis = await startRedisServer();
    const engine = new RedisEngine({ url: redis.url, prefix: freshPrefix('ready'), sweepIntervalMs: 60_000 });
    await engine.start();
    const s = await startTestServer(engine);
    try {
      expect((await s.request('/readyz')).status).toBe(200);
      await redis.stop();
      const res = await s.request('/readyz');
      expect([res.status, await errorCode(res)]).toEqual([503, 'engine_unavailable']);
      expect((await s.request('/healthz')).status).toBe(200);
    } finally {
      await s.close();
      await engine.close();
      await redis.stop();
    }
  });
});

/** A raw HTTP/1.1 client on one keep-alive connection, to hold a request half-sent. */
class RawClient {
  private data = '';
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }
  /** The next complete response (headers and a Content-Length body). */
  async response(): Promise<{ status: number; headers: string; body: string }> {
    for (;;) {
      const end = this.data.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headers = this.data.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
        if (this.data.length >= end + 4 + length) {
          const body = this.data.slice(end + 4, end + 4 + length);
          this.data = this.data.slice(end + 4 + length);
          return { status: Number(headers.split(' ')[1]), headers, body };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed; received: ${this.data}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('graceful close', () => {
  it('finishes the request in flight, refuses new ones, and stops listening', async () => {
    const engine = new MemoryEngine();
    await engine.start();
    const s = await startTestServer(engine);
    const body = '{"name":"late"}';
    const inflight = await RawClient.connect(s.port);
    const idle = await RawClient.connect(s.port);
    try {
      // The idle connection made one request: it is an open keep-alive connection.
      idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await idle.response()).status).toBe(200);
      // Half a request: headers and part of the body.
      inflight.socket.write(
        `POST /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Admin ${s.adminKey}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      // Wait until the server has the request in flight (uWS parsed its headers).
      await expect.poll(() => s.server.inflight).toBe(1);
      let closed = false;
      const closing = s.close().then(() => {
        closed = true;
      });

      // New connections are refused: the listen socket is closed.
      const refused = await new Promise<boolean>((resolve) => {
        const c = net.connect(s.port, '127.0.0.1');
        c.once('connect', () => {
          c.destroy();
          resolve(false);
        });
        c.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
      // A new request on an open connection gets 503 shutting_down and the connection closes.
      idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const late = await idle.response();
      expect([late.status, JSON.parse(late.body).error.code]).toEqual([503, 'shutting_down']);
      expect(closed).toBe(false);

      // The request in flight completes normally, then close() resolves.
      inflight.socket.write(body.slice(5));
      const done = await inflight.response();
      expect(done.status).toBe(201);
      await closing;
      expect(await engine.getApp('late')).not.toBeNull();
    } finally {
      inflight.socket.destroy();
      idle.socket.destroy();
      await s.close();
      await engine.close();
    }
  });
});
