/**
 * Request framing over raw sockets (protocol/rest.md "Connections"): a body whose length is ambiguous
 * is answered 400 and the connection closed (RFC 9112 §6.3), and a body over the limit gets its 413
 * after the rest of it has been read and discarded, within bounds (RFC 9112 §9.6), so the client
 * sees the answer instead of a reset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { head, rawConnect } from '../helpers/raw-http.js';
import { JSON_CT, useServer } from '../helpers/server.js';

const MAX_REQUEST = 64 * 1024;
const memory = engineFactories.find((f) => f.name === 'memory')!;

/** What these tests need of a server: in this process (TestServer) or its own (processServer). */
interface ProcessServer {
  port: number;
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  createApp(): Promise<{ name: string; key: string }>;
}

function processServer(node: HoldlineProcess, adminKey: string): ProcessServer {
  const request = (path: string, init: RequestInit & { key?: string } = {}): Promise<Response> => {
    const { key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== undefined) headers.set('authorization', `Application ${key}`);
    return fetch(node.url + path, { ...rest, headers });
  };
  return {
    port: node.port,
    request,
    async createApp() {
      const name = `app-${Math.random().toString(16).slice(2, 10)}`;
      const res = await request('/v1/apps', { method: 'POST', headers: { authorization: `Admin ${adminKey}`, ...JSON_CT }, body: JSON.stringify({ name }) });
      expect(res.status).toBe(201);
      return { name, key: ((await res.json()) as { key: string }).key };
    },
  };
}

async function appWithQueue(s: ProcessServer): Promise<{ app: string; key: string; path: string }> {
  const { name, key } = await s.createApp();
  const res = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q' }) });
  expect(res.status).toBe(201);
  return { app: name, key, path: `/${name}/q` };
}

async function messageCount(s: ProcessServer, path: string, key: string): Promise<number> {
  const res = await s.request(path, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: unknown[] }).messages.length;
}

describe('ambiguous body length (RFC 9112 §6.3)', () => {
  const srv = useServer(memory, { maxRequestBytes: MAX_REQUEST });

  it('Content-Length 0 then 46: the body does not run as a request of its own, the connection closes', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    // The "body" is a complete request: taken by the first Content-Length alone, it would post a message.
    const smuggled = `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Application ${key}\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"body":"evil"}`;
    const c = await rawConnect(s.port);
    await c.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Application ${key}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    );
    const { received } = await c.closed;
    // The 400 is written after uWS has parsed the rest of the read; a complete request found there
    // makes uWS close the connection before anything is written (rest.md "Connections").
    expect(received === '' || /^HTTP\/1\.1 400 [\s\S]*Connection: close[\s\S]*"code":"bad_request"/.test(received)).toBe(true);
    expect(received.match(/HTTP\/1\.1 /g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('a body that is not a request behind two Content-Lengths: 400 bad_request on field content-length', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const body = '{"body":"which length is right, 0 or 46?!!"}';
    const c = await rawConnect(s.port);
    await c.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Application ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const [res] = await c.responses(1);
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toMatchObject({ status: 'error', error: { code: 'bad_request', field: 'content-length' } });
    expect(res!.headers.connection).toBe('close');
    await c.closed;
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('a Transfer-Encoding other than chunked: 400 and close', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Transfer-Encoding': 'gzip, chunked' }) + '4\r\nabcd\r\n0\r\n\r\n');
    const [res] = await c.responses(1);
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toMatchObject({ error: { code: 'bad_request', field: 'transfer-encoding' } });
    await c.closed;
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('Content-Length with Transfer-Encoding: uWS closes the connection unanswered, nothing runs (documented limit)', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Content-Length': 4, 'Transfer-Encoding': 'chunked' }) + 'abcd');
    expect((await c.closed).received).toBe('');
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('chunked alone is a body like any other', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' }) + '4\r\nabcd\r\n0\r\n\r\n');
    const [res] = await c.responses(1);
    expect(res!.status).toBe(201);
    c.destroy();
    expect(await messageCount(s, path, key)).toBe(1);
  });
});

describe('a body over HOLDLINE_MAX_REQUEST_BYTES (RFC 9112 §9.6)', () => {
  // Its own process, as in production: a client in the server's process and event loop never
  // writes while the server closes, so it would not see the reset a real client sees.
  const MAX_REQUEST = 1024 * 1024;
  const adminKey = 'framing-admin';
  let node: HoldlineProcess | undefined;
  beforeAll(async () => {
    node = await startHoldlineProcess({ HOLDLINE_ENGINE: 'memory', HOLDLINE_ADMIN_KEY: adminKey, HOLDLINE_MAX_REQUEST_BYTES: String(MAX_REQUEST) });
  });
  afterAll(async () => {
    await node?.kill('SIGTERM');
  });
  const srv = (): ProcessServer => processServer(node!, adminKey);

  it('fetch streaming a body past the limit gets the 413, not a broken pipe', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const chunk = new Uint8Array(16 * 1024).fill(0x61);
    let sent = 0;
    // Under twice the limit: read to its end and discarded, then answered.
    const total = 2 * MAX_REQUEST - chunk.byteLength;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent >= total) return ctrl.close();
        sent += chunk.byteLength;
        ctrl.enqueue(chunk);
      },
    });
    const res = await s.request(path, { method: 'POST', key, headers: { 'content-type': 'text/plain' }, body, duplex: 'half' } as RequestInit & { key: string });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toMatchObject({ error: { code: 'body_too_large' } });
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('the 413 waits for the end of the body, and the connection then closes cleanly', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    const length = 2 * MAX_REQUEST;
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Content-Length': length }));
    await c.write('x'.repeat(length));
    const [res] = await c.responses(1);
    expect(res!.status).toBe(413);
    const closed = await c.closed;
    expect(closed.reset).toBe(false);
  });

  it('a declared length past twice the limit is answered at once, without reading the body', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Content-Length': 2 * MAX_REQUEST + 1 }));
    const [res] = await c.responses(1);
    expect(res!.status).toBe(413);
    expect(res!.headers.connection).toBe('close');
    await c.closed;
  });

  it('a body that never ends is cut once twice the limit has been read', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' }));
    const piece = `10000\r\n${'y'.repeat(0x10000)}\r\n`;
    let open = true;
    void c.closed.then(() => (open = false));
    let written = 0;
    while (open && written < 100 * MAX_REQUEST) {
      // A write after the server closed fails (EPIPE/ECONNRESET): that is the end we wait for.
      await c.write(piece).catch(() => (open = false));
      written += 0x10000;
    }
    await c.closed;
    expect(written).toBeLessThan(100 * MAX_REQUEST);
    expect(await messageCount(s, path, key)).toBe(0);
  });

  it('a body that stops short past the limit gets its 413 after the discard time (5 s)', async () => {
    const s = srv();
    const { key, path } = await appWithQueue(s);
    const c = await rawConnect(s.port);
    await c.write(head(`POST ${path}`, { Authorization: `Application ${key}`, 'Content-Type': 'text/plain', 'Content-Length': MAX_REQUEST + 5000 }));
    const started = Date.now();
    await c.write('z'.repeat(MAX_REQUEST + 1));
    const [res] = await c.responses(1);
    expect(res!.status).toBe(413);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    await c.closed;
  });
});
