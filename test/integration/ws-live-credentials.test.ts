/**
 * Credentials lost while connected (protocol/websocket.md 2 "Expiry while connected"), over real
 * sockets on both engines: an agent token's connection closes with 4401 token_expired when the
 * token expires, 4401 auth_invalid when it is revoked or its agent deleted; an application's
 * deletion closes its connections (key and agent tokens) with 4401 auth_invalid and ends other
 * connections' subscriptions to its queues with `unsubscribed` (queue_deleted). Connections whose
 * credentials still hold stay open.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine, MetaEvent, QueueMeta } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { call, startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('ws: credentials lost while connected ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { heartbeatMs: 60_000 });
    shop = await appWithKey(engine);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await engine.close();
  });

  async function open(opts: { key?: string; token?: string } = {}): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, opts);
    clients.push(c);
    return c;
  }

  /** Opens without credentials and authenticates with the first frame. */
  async function openWithFrame(creds: { key: string } | { token: string }): Promise<WsTestClient> {
    const c = await open();
    expect(await c.request({ type: 'auth', ...creds })).toMatchObject({ type: 'authenticated' });
    return c;
  }

  async function agent(name = 'Alice'): Promise<string> {
    const res = await call(s.server, shop.key, 'POST', '/v1/agents', { name });
    expect(res.status).toBe(201);
    return res.body.uuid as string;
  }

  async function token(agentUuid: string, ttl = 600): Promise<string> {
    const res = await call(s.server, shop.key, 'POST', `/v1/agents/${agentUuid}/tokens`, { ttl });
    expect(res.status).toBe(201);
    return res.body.token as string;
  }

  /** Still open and answering, once every re-check the change started is done. */
  async function stillOpen(c: WsTestClient): Promise<void> {
    await s.endpoint.settled();
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(c.closeEvent).toBeNull();
  }

  it('an agent token closes the connection with 4401 token_expired when it expires (URL and auth frame)', async () => {
    const alice = await agent();
    const short = await token(alice, 1);
    const long = await token(alice, 600);
    const byUrl = await open({ token: short });
    const byFrame = await openWithFrame({ token: short });
    const lasting = await open({ token: long });
    expect(byUrl.frames[0]).toMatchObject({ type: 'welcome', principal: { kind: 'agent', agent_uuid: alice } });
    // No polling: each connection holds a timer at its token's expiry.
    expect(await byUrl.closed).toEqual({ code: 4401, reason: 'token_expired' });
    expect(await byFrame.closed).toEqual({ code: 4401, reason: 'token_expired' });
    await stillOpen(lasting);
    // The token is refused from now on, as the close said.
    const again = await WsTestClient.connect(s.url, { token: short });
    expect(await again.closed).toEqual({ code: 4401, reason: 'token_expired' });
  });

  it('revoking a token closes the connections that use it with 4401 auth_invalid, and no other', async () => {
    const alice = await agent();
    const revoked = await token(alice);
    const kept = await token(alice);
    const a1 = await open({ token: revoked });
    const a2 = await openWithFrame({ token: revoked });
    const b = await open({ token: kept });
    const app = await open({ key: shop.key });
    const res = await call(s.server, shop.key, 'DELETE', `/v1/agents/${alice}/tokens`, { token: revoked });
    expect(res.status).toBe(204);
    expect(await a1.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(await a2.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    await stillOpen(b);
    await stillOpen(app);
  });

  it("deleting the agent closes its connections with 4401 auth_invalid; another agent's stay", async () => {
    const alice = await agent('Alice');
    const bob = await agent('Bob');
    const a = await open({ token: await token(alice) });
    const b = await openWithFrame({ token: await token(bob) });
    expect((await call(s.server, shop.key, 'DELETE', `/v1/agents/${alice}`)).status).toBe(204);
    expect(await a.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    await stillOpen(b);
  });

  it('deleting the application closes its key and agent connections with 4401 auth_invalid; readers of its queues get unsubscribed', async () => {
    const other = await appWithKey(engine);
    const publicQ: QueueMeta = await queueOf(engine, shop.name, { type: 'public', partitions: 2 });
    const sharedQ: QueueMeta = await queueOf(engine, shop.name, { principles: [`app:${other.name}`] });
    const alice = await agent();
    const byUrl = await open({ key: shop.key });
    const byFrame = await openWithFrame({ key: shop.key });
    const agentConn = await open({ token: await token(alice) });
    const anonymous = await open();
    const reader = await open({ key: other.key });
    const bystander = await open({ key: other.key });
    const sub = (q: QueueMeta, partitions: number[]) => ({ type: 'subscribe' as const, application: q.application, queue: q.name, partitions });
    expect(await anonymous.request(sub(publicQ, [1, 2]))).toMatchObject({ type: 'subscribed' });
    expect(await reader.request(sub(sharedQ, [1]))).toMatchObject({ type: 'subscribed' });
    expect(await byUrl.request(sub(sharedQ, [1]))).toMatchObject({ type: 'subscribed' });

    const res = await s.server.request(`/v1/apps/${shop.name}`, { method: 'DELETE', headers: { authorization: `Admin ${s.server.adminKey}` } });
    expect(res.status).toBe(200);
    for (const c of [byUrl, byFrame, agentConn]) expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    const endedPublic = await anonymous.next('unsubscribed');
    expect(endedPublic).toEqual({ type: 'unsubscribed', application: shop.name, queue: publicQ.name, partitions: [1, 2], reason: 'queue_deleted' });
    const endedShared = await reader.next('unsubscribed');
    expect(endedShared).toEqual({ type: 'unsubscribed', application: shop.name, queue: sharedQ.name, partitions: [1], reason: 'queue_deleted' });
    await stillOpen(anonymous);
    await stillOpen(reader);
    await stillOpen(bystander);
    // The key is refused from now on.
    const again = await WsTestClient.connect(s.url, { key: shop.key });
    expect(await again.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });
});

/**
 * Announcements missed (the engine's feed of changes was interrupted and came back: `resync`): every
 * connection and every followed queue is checked again. The engine here hides its announcements from
 * the endpoint, and the test delivers the `resync` itself.
 */
describe.each(engineFactories)('ws: re-checking everything after missed announcements ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let deliver: ((event: MetaEvent) => void) | null = null;
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    const deaf = new Proxy(engine, {
      get(target, prop, receiver) {
        if (prop === 'watchMeta') {
          return (listener: (event: MetaEvent) => void) => {
            deliver = listener;
            return () => undefined;
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    s = await startWsServer(deaf, { heartbeatMs: 60_000 });
    shop = await appWithKey(engine);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await engine.close();
  });

  async function open(opts: { key?: string; token?: string } = {}): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, opts);
    clients.push(c);
    return c;
  }

  it('a token revoked, a queue deleted and principles narrowed while nobody announced: caught up at the resync', async () => {
    const other = await appWithKey(engine);
    const gone = await queueOf(engine, shop.name, { type: 'public' });
    const shared = await queueOf(engine, shop.name, { principles: [`app:${other.name}`] });
    const agent = (await call(s.server, shop.key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    const token = (await call(s.server, shop.key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string;
    const agentConn = await open({ token });
    const owner = await open({ key: shop.key });
    const anonymous = await open();
    const reader = await open({ key: other.key });
    const sub = (q: QueueMeta) => ({ type: 'subscribe' as const, application: q.application, queue: q.name, partitions: [1] });
    expect(await anonymous.request(sub(gone))).toMatchObject({ type: 'subscribed' });
    expect(await reader.request(sub(shared))).toMatchObject({ type: 'subscribed' });
    expect(await owner.request(sub(shared))).toMatchObject({ type: 'subscribed' });

    // Straight in the stores: nothing is announced to the endpoint.
    expect(await s.server.calls.revokeAgentToken(shop.name, token)).toBe(true);
    expect(await engine.deleteQueue(shop.name, gone.name)).toBe(true);
    await engine.updateQueue({ ...shared, principles: [] });
    await s.endpoint.settled();
    for (const c of [agentConn, owner, anonymous, reader]) expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect([agentConn, anonymous, reader].some((c) => c.frames.some((f) => f.type === 'unsubscribed'))).toBe(false);

    expect(deliver).not.toBeNull();
    deliver!({ kind: 'resync' });
    expect(await agentConn.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(await anonymous.next('unsubscribed')).toMatchObject({ queue: gone.name, partitions: [1], reason: 'queue_deleted' });
    expect(await reader.next('unsubscribed')).toMatchObject({ queue: shared.name, partitions: [1], reason: 'access_revoked' });
    await s.endpoint.settled();
    expect(await owner.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(owner.frames.some((f) => f.type === 'unsubscribed')).toBe(false);
  });
});

/**
 * A token revoked while a connection is being authenticated with it: the lookup said valid, the
 * announcement came before the connection had credentials to re-check. The endpoint's token
 * resolver revokes the token (through REST, which announces) between the lookup and its answer.
 */
describe.each(engineFactories)('ws: a token revoked during authentication ($name engine)', (factory) => {
  let engine: Engine;
  let server: TestServer;
  let shop: { name: string; key: string };
  let revokeDuringLookup: { agent: string } | null = null;
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    const endpoint = createWebSocketEndpoint({
      limits: { heartbeatMs: 60_000 },
      agentForToken: async (token) => {
        const identity = await server.server.context.agentForToken(token);
        const armed = revokeDuringLookup;
        if (armed !== null) {
          revokeDuringLookup = null;
          let stop = (): void => undefined;
          const heard = new Promise<void>((resolve) => {
            stop = engine.watchMeta((e) => {
              if (e.kind === 'agent' && e.agent === armed.agent) resolve();
            });
          });
          expect((await call(server, shop.key, 'DELETE', `/v1/agents/${armed.agent}/tokens`, { token })).status).toBe(204);
          await heard;
          stop();
        }
        return identity;
      },
    });
    server = await startTestServer(engine, {}, { mounts: [endpoint.mount] });
    shop = await appWithKey(engine);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await server.close();
    await engine.close();
  });

  async function issue(): Promise<{ agent: string; token: string }> {
    const agent = (await call(server, shop.key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    return { agent, token: (await call(server, shop.key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string };
  }

  it('in the URL: closed with 4401 auth_invalid before welcome', async () => {
    const { agent, token } = await issue();
    revokeDuringLookup = { agent };
    const c = await WsTestClient.connect(server.url, { token });
    clients.push(c);
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(c.frames).toEqual([]);
    expect(revokeDuringLookup).toBeNull();
  });

  it('in the auth frame: answered auth_invalid, then closed with 4401', async () => {
    const { agent, token } = await issue();
    const c = await WsTestClient.open(server.url);
    clients.push(c);
    revokeDuringLookup = { agent };
    expect(await c.request({ type: 'auth', token })).toMatchObject({ type: 'error', op: 'auth', error: { code: 'auth_invalid' } });
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });
});
