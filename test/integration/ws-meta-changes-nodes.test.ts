/**
 * Credentials and queue changes made through one Holdline node reach the WebSocket connections of
 * another node sharing the Redis (protocol/websocket.md 2 "Expiry while connected", 4.4): two
 * servers, each its own RedisEngine and RedisCallStore on one prefix; every change goes through
 * node A's REST API, every connection is on node B.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { QueueMeta } from '../../src/engine/types.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import type { WebSocketEndpoint } from '../../src/server/ws/index.js';
import { freshPrefix } from '../helpers/namespace.js';
import { FORM, call, startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { WsTestClient, queueOf } from '../helpers/ws-client.js';

interface Node {
  engine: RedisEngine;
  calls: RedisCallStore;
  server: TestServer;
  ws: WebSocketEndpoint;
}

async function startNode(prefix: string, adminKey: string): Promise<Node> {
  const engine = new RedisEngine({ url: inject('redisUrl'), prefix });
  await engine.start();
  const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix });
  const ws = createWebSocketEndpoint({ limits: { heartbeatMs: 60_000 } });
  const server = await startTestServer(engine, { adminKey }, { mounts: [ws.mount], callStore: calls });
  return { engine, calls, server, ws };
}

describe('ws: changes made on another node (two servers, one Redis)', () => {
  let a: Node;
  let b: Node;
  let app: { name: string; key: string };
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    const prefix = freshPrefix('wsmeta');
    const adminKey = 'admin-key-for-both-nodes';
    a = await startNode(prefix, adminKey);
    b = await startNode(prefix, adminKey);
    app = await a.server.createApp();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const n of [b, a]) {
      await n.server.close();
      await n.calls.close();
      await n.engine.close();
    }
  });

  async function openOnB(opts: { key?: string; token?: string } = {}): Promise<WsTestClient> {
    const c = await WsTestClient.open(b.server.url, opts);
    clients.push(c);
    return c;
  }

  async function agentWithToken(): Promise<{ agent: string; token: string }> {
    const agent = (await call(a.server, app.key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    const token = (await call(a.server, app.key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string;
    return { agent, token };
  }

  async function restOnA(method: string, path: string, form?: Record<string, string>): Promise<number> {
    const res = await a.server.request(path, { method, key: app.key, ...(form === undefined ? {} : { headers: FORM, body: new URLSearchParams(form).toString() }) });
    await res.arrayBuffer();
    return res.status;
  }

  const subscribe = (q: QueueMeta, partitions: number[]) => ({ type: 'subscribe' as const, application: q.application, queue: q.name, partitions });

  async function stillOpen(c: WsTestClient): Promise<void> {
    await b.ws.settled();
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(c.closeEvent).toBeNull();
  }

  it('a token revoked on A closes its connection on B with 4401 auth_invalid', async () => {
    const { agent, token } = await agentWithToken();
    const other = (await call(a.server, app.key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string;
    const revoked = await openOnB({ token });
    const kept = await openOnB({ token: other });
    expect((await call(a.server, app.key, 'DELETE', `/v1/agents/${agent}/tokens`, { token })).status).toBe(204);
    expect(await revoked.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    await stillOpen(kept);
  });

  it('an agent deleted on A closes its connection on B with 4401 auth_invalid', async () => {
    const { agent, token } = await agentWithToken();
    const c = await openOnB({ token });
    expect((await call(a.server, app.key, 'DELETE', `/v1/agents/${agent}`)).status).toBe(204);
    expect(await c.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });

  it("an application deleted on A closes its connections on B with 4401 auth_invalid; others' subscriptions to its queues end", async () => {
    const { token } = await agentWithToken();
    const publicQ = await queueOf(a.engine, app.name, { type: 'public' });
    const keyConn = await openOnB({ key: app.key });
    const agentConn = await openOnB({ token });
    const anonymous = await openOnB();
    expect(await anonymous.request(subscribe(publicQ, [1]))).toMatchObject({ type: 'subscribed' });
    const res = await a.server.request(`/v1/apps/${app.name}`, { method: 'DELETE', headers: { authorization: `Admin ${a.server.adminKey}` } });
    expect(res.status).toBe(200);
    expect(await keyConn.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(await agentConn.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(await anonymous.next('unsubscribed')).toEqual({ type: 'unsubscribed', application: app.name, queue: publicQ.name, partitions: [1], reason: 'queue_deleted' });
    await stillOpen(anonymous);
  });

  it('a queue deleted on A ends subscriptions on B (queue_deleted); created again, it delivers on B gaplessly', async () => {
    const q = await queueOf(a.engine, app.name, { partitions: 2 });
    const c = await openOnB({ key: app.key });
    expect(await c.request(subscribe(q, [1, 2]))).toMatchObject({ type: 'subscribed' });
    for (let i = 1; i <= 5; i++) await a.engine.append(q, [{ body: `o${i}`, ttl: 600, partition: 1 }]);
    await c.until(() => c.messages({ queue: q.name }).length === 5, 'old messages on B');

    expect(await restOnA('DELETE', `/${app.name}/${q.name}`)).toBe(200);
    const end = await c.next('unsubscribed');
    expect(end).toEqual({ type: 'unsubscribed', application: app.name, queue: q.name, partitions: [1, 2], reason: 'queue_deleted' });
    expect(c.frames.slice(c.frames.indexOf(end) + 1).filter((f) => f.type === 'message')).toEqual([]);

    expect(await restOnA('POST', `/${app.name}`, { queue_name: q.name, partitions: '2', consistency: 'weak' })).toBe(201);
    await b.ws.settled();
    const from = c.frames.length;
    expect(await c.request(subscribe(q, [1]))).toMatchObject({ type: 'subscribed' });
    for (let i = 1; i <= 5; i++) await a.engine.append(q, [{ body: `n${i}`, ttl: 600, partition: 1 }]);
    const fresh = (): Array<Extract<ServerFrame, { type: 'message' }>> =>
      c.frames.slice(from).filter((f): f is Extract<ServerFrame, { type: 'message' }> => f.type === 'message' && f.queue === q.name);
    await c.until(() => fresh().length === 5, 'the recreated queue delivers on B');
    expect(fresh().map((m) => m.body)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    for (let i = 1; i < 5; i++) expect(fresh()[i]!.seq).toBe(fresh()[i - 1]!.seq + 1);
  });

  it('principles narrowed on A end the subscriptions on B that may no longer read (access_revoked)', async () => {
    const reader = await a.server.createApp();
    const q = await queueOf(a.engine, app.name, { principles: [`app:${reader.name}`] });
    const owner = await openOnB({ key: app.key });
    const listed = await openOnB({ key: reader.key });
    for (const c of [owner, listed]) expect(await c.request(subscribe(q, [1]))).toMatchObject({ type: 'subscribed' });
    expect(await restOnA('PUT', `/${app.name}/${q.name}`, { principles: '' })).toBe(200);
    expect(await listed.next('unsubscribed')).toEqual({ type: 'unsubscribed', application: app.name, queue: q.name, partitions: [1], reason: 'access_revoked' });
    await b.ws.settled();
    await a.engine.append(q, [{ body: 'after', ttl: 600, partition: 1 }]);
    await owner.until(() => owner.messages({ queue: q.name }).length === 1, 'the owner still reads');
    expect(owner.frames.some((f) => f.type === 'unsubscribed')).toBe(false);
    await stillOpen(listed);
    expect(listed.messages({ queue: q.name })).toEqual([]);
  });
});
