/**
 * WebSocket authentication and isolation (protocol/websocket.md section 2): URL and first-frame
 * credentials, refusals as 4401 with the error code as reason, the auth barrier and timeout, and
 * what each principal may do with public queues, principles and other applications' queues.
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { HoldlineError } from '../../src/errors.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { engineFactories } from '../helpers/engines.js';
import { startTestServer } from '../helpers/server.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

function errorCode(frame: ServerFrame): string {
  if (frame.type !== 'error') throw new Error(`expected an error frame, got ${JSON.stringify(frame)}`);
  return frame.error.code;
}

describe.each(engineFactories)('ws auth and isolation ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let other: { name: string; key: string };
  let privateQ: QueueMeta;
  let publicQ: QueueMeta;
  let sharedQ: QueueMeta;

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { authTimeoutMs: 400, heartbeatMs: 100 });
    shop = await appWithKey(engine);
    other = await appWithKey(engine);
    privateQ = await queueOf(engine, shop.name);
    publicQ = await queueOf(engine, shop.name, { type: 'public' });
    sharedQ = await queueOf(engine, shop.name, { principles: [`app:${other.name}`] });
    await engine.append(privateQ, [{ body: 'p1', ttl: 3600, partition: 1 }]);
    await engine.append(publicQ, [{ body: 'pub1', ttl: 3600, partition: 1 }]);
    await engine.append(sharedQ, [{ body: 's1', ttl: 3600, partition: 1 }]);
  });
  afterEach(async () => {
    await s.close();
    await engine.close();
  });

  const history = (q: QueueMeta) => ({ type: 'history' as const, application: q.application, queue: q.name });
  const subscribe = (q: QueueMeta) => ({ type: 'subscribe' as const, application: q.application, queue: q.name, since: 0 });
  const publish = (q: QueueMeta) => ({ type: 'publish' as const, application: q.application, queue: q.name, messages: [{ body: 'x' }] });

  it('a key in the URL: welcome names the application, which may do everything on its queues', async () => {
    const c = await WsTestClient.connect(s.url, { key: shop.key });
    const welcome = await c.next('welcome');
    expect(welcome.principal).toEqual({ kind: 'application', application: shop.name });
    expect(c.frames[0]!.type).toBe('welcome');
    expect((await c.request(publish(privateQ))).type).toBe('published');
    expect((await c.request(history(privateQ))).type).toBe('history.result');
    expect((await c.request(subscribe(privateQ))).type).toBe('subscribed');
    await c.close();
  });

  it('no key: anonymous reads public queues only, and cannot publish anywhere', async () => {
    const c = await WsTestClient.open(s.url);
    expect(c.frames[0]).toMatchObject({ type: 'welcome', principal: { kind: 'anonymous' } });
    const read = await c.request(history(publicQ));
    expect(read).toMatchObject({ type: 'history.result', messages: [{ body: 'pub1' }] });
    expect((await c.request(subscribe(publicQ))).type).toBe('subscribed');
    expect(errorCode(await c.request(history(privateQ)))).toBe('forbidden');
    expect(errorCode(await c.request(subscribe(privateQ)))).toBe('forbidden');
    expect(errorCode(await c.request(publish(publicQ)))).toBe('forbidden');
    expect(errorCode(await c.request(publish(privateQ)))).toBe('forbidden');
    await c.close();
  });

  it("another application's key: forbidden on user queues; principles allow reading, never publishing", async () => {
    const c = await WsTestClient.open(s.url, { key: other.key });
    expect(errorCode(await c.request(history(privateQ)))).toBe('forbidden');
    expect(errorCode(await c.request(subscribe(privateQ)))).toBe('forbidden');
    expect(errorCode(await c.request(publish(privateQ)))).toBe('forbidden');
    expect(await c.request(history(sharedQ))).toMatchObject({ type: 'history.result', messages: [{ body: 's1' }] });
    expect((await c.request(subscribe(sharedQ))).type).toBe('subscribed');
    expect(errorCode(await c.request(publish(sharedQ)))).toBe('forbidden');
    expect(errorCode(await c.request(publish(publicQ)))).toBe('forbidden');
    // What it received is only what it may read.
    await c.until(() => c.messages().length >= 1, 'shared history');
    expect(c.messages().map((m) => m.queue)).toEqual([sharedQ.name]);
    await c.close();
  });

  it('a subscriber never receives messages of a queue it may not read', async () => {
    const intruder = await WsTestClient.open(s.url, { key: other.key });
    expect(errorCode(await intruder.request(subscribe(privateQ)))).toBe('forbidden');
    expect((await intruder.request(subscribe(publicQ))).type).toBe('subscribed');
    const owner = await WsTestClient.open(s.url, { key: shop.key });
    await owner.request(publish(privateQ));
    const marker = await owner.request({ ...publish(publicQ), messages: [{ body: 'marker' }] });
    expect(marker.type).toBe('published');
    await intruder.until(() => intruder.messages().some((m) => m.body === 'marker'), 'marker');
    expect(intruder.messages().map((m) => m.queue)).toEqual([publicQ.name, publicQ.name]);
    await intruder.close();
    await owner.close();
  });

  it('a wrong key in the URL: the connection opens and closes with 4401 auth_invalid, no frame', async () => {
    const c = await WsTestClient.connect(s.url, { key: 'not-a-key' });
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(c.frames).toEqual([]);
  });

  it('both key and token, or an empty key: 4401 auth_malformed', async () => {
    const both = await WsTestClient.connect(s.url, { query: `key=${shop.key}&token=abc` });
    expect(await both.closed).toEqual({ code: 4401, reason: 'auth_malformed' });
    const empty = await WsTestClient.connect(s.url, { query: 'key=' });
    expect(await empty.closed).toEqual({ code: 4401, reason: 'auth_malformed' });
  });

  it('an unknown agent token: 4401 auth_invalid', async () => {
    const c = await WsTestClient.connect(s.url, { token: 'some-token' });
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });

  it('first-frame auth: authenticated with the principal, then the frames behind it use it', async () => {
    const c = await WsTestClient.open(s.url);
    // Sent back to back: the publish waits for the auth barrier and runs as the application.
    c.send({ type: 'auth', id: 'a', key: shop.key });
    c.send({ ...publish(privateQ), id: 'p' });
    const auth = await c.waitFor((f) => 'id' in f && f.id === 'a');
    expect(auth).toEqual({ type: 'authenticated', id: 'a', principal: { kind: 'application', application: shop.name } });
    expect((await c.waitFor((f) => 'id' in f && f.id === 'p')).type).toBe('published');
    expect(errorCode(await c.request({ type: 'auth', key: shop.key }))).toBe('auth_unexpected');
    await c.close();
  });

  it('first-frame auth with a wrong key: the error frame answers it, then 4401', async () => {
    const c = await WsTestClient.open(s.url);
    c.send({ type: 'auth', id: 7, key: 'wrong' });
    const closed = await c.closed;
    expect(c.frames.slice(1)).toEqual([
      { type: 'error', id: 7, op: 'auth', error: { code: 'auth_invalid', message: expect.any(String) } },
    ]);
    expect(closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });

  it('a malformed auth frame: the error frame describing it, then 4401 auth_malformed', async () => {
    const c = await WsTestClient.open(s.url);
    c.sendRaw(JSON.stringify({ type: 'auth', id: 1, key: 'k', token: 't' }));
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_malformed' });
    expect(c.frames[1]).toMatchObject({ type: 'error', id: 1, op: 'auth', error: { code: 'invalid_field' } });
  });

  it.each(['json', 'msgpack'] as const)(
    'no credentials, a first frame that is a publish failing validation (%s): an error reply, the connection stays open and anonymous',
    async (format) => {
      // Many connections at once, each sending its frames back to back before `welcome` arrives:
      // the first frame decides, whatever follows it and however the connections interleave.
      const clients = await Promise.all(Array.from({ length: 20 }, () => WsTestClient.connect(s.url, { format })));
      for (const c of clients) {
        c.send({ type: 'publish', id: 'p', application: shop.name, queue: 'q'.repeat(128), messages: [{ body: 'x' }] });
        c.send({ type: 'auth', id: 'm', key: 'k', token: 't' }); // malformed: both
        c.send({ type: 'auth', id: 'a', key: shop.key });
        c.send({ type: 'ping', id: 'z' });
      }
      for (const c of clients) {
        await c.waitFor((f) => 'id' in f && f.id === 'z', 'pong');
        const reply = (id: string) => c.frames.find((f) => 'id' in f && f.id === id);
        expect(reply('p')).toMatchObject({ type: 'error', op: 'publish', error: { code: 'invalid_name', field: 'queue' } });
        expect(reply('m')).toMatchObject({ type: 'error', op: 'auth' });
        expect(reply('a')).toMatchObject({ type: 'error', op: 'auth', error: { code: 'auth_unexpected' } });
        expect(c.frames[0]).toMatchObject({ type: 'welcome', principal: { kind: 'anonymous' } });
        expect(c.closeEvent).toBeNull();
        expect(errorCode(await c.request(publish(privateQ)))).toBe('forbidden');
        await c.close();
      }
    },
  );

  it('auth later than the first frame, or on a connection with URL credentials: auth_unexpected, nothing changes', async () => {
    const anon = await WsTestClient.open(s.url);
    expect((await anon.request({ type: 'ping' })).type).toBe('pong');
    expect(errorCode(await anon.request({ type: 'auth', key: shop.key }))).toBe('auth_unexpected');
    expect(errorCode(await anon.request(publish(privateQ)))).toBe('forbidden');
    const keyed = await WsTestClient.open(s.url, { key: other.key });
    expect(errorCode(await keyed.request({ type: 'auth', key: shop.key }))).toBe('auth_unexpected');
    expect(errorCode(await keyed.request(publish(privateQ)))).toBe('forbidden');
    await anon.close();
    await keyed.close();
  });

  it('no frame within auth_timeout_ms: 4408 auth_timeout; any first frame keeps the connection (anonymous)', async () => {
    const silent = await WsTestClient.open(s.url);
    expect(await silent.closed).toEqual({ code: 4408, reason: 'auth_timeout' });

    const talker = await WsTestClient.open(s.url);
    await talker.request({ type: 'ping' });
    // Heartbeats (every 100 ms when idle) arrive well past the 400 ms auth timeout.
    const start = Date.now();
    await talker.until(() => talker.frames.filter((f) => f.type === 'heartbeat').length >= 8, 'heartbeats');
    expect(Date.now() - start).toBeGreaterThan(400);
    expect(talker.closeEvent).toBeNull();
    await talker.close();
  });

  it('a keyed connection needs no first frame: it is never closed for auth_timeout', async () => {
    const c = await WsTestClient.open(s.url, { key: shop.key });
    await c.until(() => c.frames.filter((f) => f.type === 'heartbeat').length >= 8, 'heartbeats');
    expect(c.closeEvent).toBeNull();
    await c.close();
  });
});

describe('ws upgrade and agent tokens', () => {
  it('refuses only-unknown subprotocols with HTTP 400 unsupported_subprotocol; none offered means JSON, not echoed', async () => {
    const engine = await engineFactories[0]!.create();
    const s = await startWsServer(engine);
    await expect(WsTestClient.connect(s.url, { protocols: ['chat.v9'] })).rejects.toThrow('HTTP 400');
    // The raw upgrade response: status and the JSON error body.
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(`${s.url}/v1/ws`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'chat.v9' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 'error', error: { code: 'unsupported_subprotocol' } });

    const plain = await WsTestClient.open(s.url, { protocols: [] });
    expect(plain.protocol).toBe('');
    const picked = await WsTestClient.open(s.url, { protocols: ['chat.v9', 'holdline.v1.msgpack', 'holdline.v1.json'], format: 'msgpack' });
    expect(picked.protocol).toBe('holdline.v1.msgpack');
    expect((await picked.request({ type: 'ping', id: 1 })).type).toBe('pong');
    await plain.close();
    await picked.close();
    await s.close();
    await engine.close();
  });

  it('an agent token, once a resolver is plugged in: principal agent; it reads public queues only', async () => {
    const engine = await engineFactories[0]!.create();
    const shop = await appWithKey(engine);
    const publicQ = await queueOf(engine, shop.name, { type: 'public' });
    const privateQ = await queueOf(engine, shop.name);
    const endpoint = createWebSocketEndpoint({
      agentForToken: async (token) => {
        if (token === 'expired') throw new HoldlineError('token_expired');
        if (token !== 'good') throw new HoldlineError('auth_invalid');
        return { application: shop.name, agentUuid: 'a-1' };
      },
    });
    const server = await startTestServer(engine, {}, { mounts: [endpoint.mount] });

    const agent = await WsTestClient.open(server.url, { token: 'good' });
    expect(agent.frames[0]).toMatchObject({ principal: { kind: 'agent', application: shop.name, agent_uuid: 'a-1' } });
    expect((await agent.request({ type: 'history', application: shop.name, queue: publicQ.name })).type).toBe('history.result');
    expect(errorCode(await agent.request({ type: 'history', application: shop.name, queue: privateQ.name }))).toBe('forbidden');
    expect(errorCode(await agent.request({ type: 'publish', application: shop.name, queue: publicQ.name, messages: [{ body: 'x' }] }))).toBe('forbidden');
    const expired = await WsTestClient.connect(server.url, { token: 'expired' });
    expect(await expired.closed).toEqual({ code: 4401, reason: 'token_expired' });
    const viaFrame = await WsTestClient.open(server.url);
    expect(await viaFrame.request({ type: 'auth', token: 'good' })).toMatchObject({ type: 'authenticated', principal: { kind: 'agent' } });
    await agent.close();
    await viaFrame.close();
    await server.close();
    await engine.close();
  });
});
