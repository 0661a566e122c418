/**
 * The operator's HTTP edge (SPEC.md 3.6, issue 11): CORS preflights and headers on real requests,
 * the Origin check of the /v1/ws upgrade, reserved paths that are never application names, and the
 * opt-in access log. Real server, real sockets (fetch and `ws`).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SUBPROTOCOLS } from '../../src/codec/index.js';
import { DEFAULTS } from '../../src/config.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { createHoldlineServer } from '../../src/server/index.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

const ALLOWED = 'https://desk.example.com';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(corsOrigins: string[] = [ALLOWED]): Promise<WsServer> {
  const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
  await engine.start();
  const s = await startWsServer(engine, {}, { corsOrigins });
  cleanups.push(async () => {
    await s.close();
    await engine.close();
  });
  return s;
}

/** Opens /v1/ws with the given headers; resolves with the HTTP status of a refusal, or 101. */
function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, [SUBPROTOCOLS.json], { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

describe('CORS', () => {
  it('answers a preflight from an allowed origin with 204 and the Access-Control headers', async () => {
    const { server: s } = await server();
    const res = await fetch(`${s.url}/v1/queues`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('refuses a preflight from another origin with 403 origin_not_allowed', async () => {
    const { server: s } = await server();
    const res = await fetch(`${s.url}/v1/queues`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'GET' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
  });

  it('allows no origin by default', async () => {
    const { server: s } = await server([]);
    const res = await fetch(`${s.url}/v1/queues`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'GET' } });
    expect(res.status).toBe(403);
    const plain = await s.request('/healthz', { headers: { origin: ALLOWED } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('vary')).toBeNull();
  });

  it('leaves an OPTIONS that is not a preflight to the router (405 with Allow)', async () => {
    const { server: s } = await server();
    const res = await fetch(`${s.url}/v1/queues`, { method: 'OPTIONS' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });

  it('puts Access-Control-Allow-Origin on replies to an allowed origin, errors included, and only there', async () => {
    const { server: s } = await server();
    const { key } = await s.createApp();
    const ok = await s.request('/v1/queues', { key, headers: { origin: ALLOWED } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(ok.headers.get('vary')).toBe('Origin');
    const refused = await s.request('/v1/queues', { headers: { origin: ALLOWED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const other = await s.request('/v1/queues', { key, headers: { origin: 'https://evil.example.net' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toBe('Origin');
    expect((await s.request('/healthz')).headers.get('vary')).toBe('Origin');
  });

  it('accepts any origin with *', async () => {
    const { server: s } = await server(['*']);
    const res = await fetch(`${s.url}/healthz`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('refuses a bad origin in the setting at start-up', async () => {
    const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    expect(() =>
      createHoldlineServer({ config: { ...DEFAULTS, port: 0, corsOrigins: ['desk.example.com'] }, engine, logger: pino({ level: 'silent' }) }),
    ).toThrow(/HOLDLINE_CORS_ORIGINS/);
    await engine.close();
  });
});

describe('WebSocket upgrade Origin check', () => {
  it('lets in no Origin (not a browser), an allowed one, and the server’s own; refuses others with 403', async () => {
    const { server: s } = await server();
    const host = `127.0.0.1:${s.port}`;
    expect((await upgrade(s.url, {})).status).toBe(101);
    expect((await upgrade(s.url, { origin: ALLOWED })).status).toBe(101);
    expect((await upgrade(s.url, { origin: `http://${host}` })).status).toBe(101);
    const refused = await upgrade(s.url, { origin: 'https://evil.example.net' });
    expect(refused.status).toBe(403);
    expect((JSON.parse(refused.body) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
    // Same host name, another port: another origin.
    expect((await upgrade(s.url, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
  });

  it('refuses every foreign Origin by default', async () => {
    const { server: s } = await server([]);
    expect((await upgrade(s.url, { origin: ALLOWED })).status).toBe(403);
    expect((await upgrade(s.url, { origin: `http://127.0.0.1:${s.port}` })).status).toBe(101);
  });
});

describe('reserved paths', () => {
  it('never takes /v1, /metrics, /openapi.json, /docs or /console for an application', async () => {
    const { server: s } = await server();
    const { key } = await s.createApp();
    const codeOf = async (path: string, init: RequestInit = {}): Promise<[number, string]> => {
      const res = await s.request(path, { key, ...init });
      const body = (await res.json()) as { error?: { code: string } };
      return [res.status, body.error?.code ?? 'ok'];
    };
    for (const path of ['/v1/eventz', '/v1/ws', '/v1/nothing/here', '/v1/events/x/y', '/console/queues', '/console/x/y', '/docs/x/y', '/metrics/x', '/openapi.json/x']) {
      expect(await codeOf(path), path).toEqual([404, 'not_found']);
    }
    // Methods the Queuey patterns would take (PUT /{app}/{queue}) are not 405 there either.
    expect(await codeOf('/v1/eventz', { method: 'PUT' })).toEqual([404, 'not_found']);
    expect(await codeOf('/V1/eventz')).toEqual([404, 'not_found']);
    // /v1/events is the event log (protocol/events.md), never a queue of an application named v1.
    expect(await codeOf('/v1/events')).toEqual([200, 'ok']);
    // A plain GET of /v1/ws without a key, too.
    const plain = await fetch(`${s.url}/v1/ws`);
    expect(plain.status).toBe(404);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('not_found');
    // /console is the console page (test/integration/console-browser.test.ts), never an application.
    const page = await s.request('/console', { key });
    expect([200, 503]).toContain(page.status);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // An application name still is one.
    expect(await codeOf('/nobody/q')).toEqual([404, 'app_not_found']);
  });
});

describe('access log', () => {
  async function logged(accessLog: boolean): Promise<{ url: string; lines: Array<Record<string, unknown>> }> {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    await engine.start();
    const callStore = new MemoryCallStore();
    const config = { ...DEFAULTS, port: 0, accessLog, adminKey: 'admin-key' };
    const s = createHoldlineServer({ config, engine, logger: pino({ level: 'info' }, sink), callStore, mounts: [createWebSocketEndpoint().mount] });
    const port = await s.listen();
    cleanups.push(async () => {
      await s.close();
      await callStore.close();
      await engine.close();
    });
    return { url: `http://127.0.0.1:${port}`, lines };
  }

  it('writes one info line per request with route template, status, duration and request id', async () => {
    const { url, lines } = await logged(true);
    const res = await fetch(`${url}/v1/queues/00000000-0000-4000-8000-000000000000`, { headers: { 'x-request-id': 'req-42' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    const generated = await fetch(`${url}/healthz`);
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const http = lines.filter((l) => l.msg === 'http');
    expect(http).toHaveLength(2);
    expect(http[0]).toMatchObject({ level: 30, method: 'GET', route: '/v1/queues/:queue', status: 401, request_id: 'req-42' });
    expect(typeof http[0]!.ms).toBe('number');
    expect(http[1]).toMatchObject({ route: '/healthz', status: 200, request_id: id });
    expect(JSON.stringify(http)).not.toContain('00000000-0000-4000-8000-000000000000');
  });

  it('is off by default', async () => {
    const { url, lines } = await logged(false);
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeNull();
    expect(lines.filter((l) => l.msg === 'http')).toHaveLength(0);
  });
});
