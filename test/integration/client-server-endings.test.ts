/**
 * The SDK when the server ends things on its own (protocol/websocket.md 2 "Expiry while connected",
 * 4.4), against a real server on both engines: a token that expires or is revoked stops the client
 * for good (4401, cause `auth`: no reconnect with the same token); a deleted queue ends its
 * subscription (`unsubscribed`, then `ended` with reason `queue_deleted`) while the client and its
 * other subscriptions go on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HoldlineClient, type StopReason, type Subscription } from '../../src/client/index.js';
import type { Engine } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { call } from '../helpers/server.js';
import { appWithKey, queueOf, startWsServer, type WsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('client SDK: server-initiated endings ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  const clients: HoldlineClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine);
    shop = await appWithKey(engine);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.close();
    await engine.close();
  });

  function client(creds: { key: string } | { token: string }): HoldlineClient {
    const c = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, ...creds, backoff: { baseMs: 20, maxMs: 200 } });
    clients.push(c);
    return c;
  }

  function stopped(c: HoldlineClient): Promise<StopReason> {
    return new Promise((resolve) => c.once('closed', resolve));
  }

  async function token(ttl: number): Promise<{ agent: string; token: string }> {
    const agent = (await call(s.server, shop.key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    return { agent, token: (await call(s.server, shop.key, 'POST', `/v1/agents/${agent}/tokens`, { ttl })).body.token as string };
  }

  it('an expiring token stops the client with 4401 token_expired (cause auth), without reconnecting', async () => {
    const c = client({ token: (await token(1)).token });
    const stop = stopped(c);
    let connected = false;
    c.once('connected', () => (connected = true));
    void c.connect().catch(() => undefined);
    const reason = await stop;
    // A machine slow enough to take a second to connect sees the expiry at `auth` instead.
    if (connected) expect(reason).toEqual({ by: 'server', code: 4401, reason: 'token_expired', why: 'auth' });
    else expect(reason).toMatchObject({ by: 'auth', code: 'token_expired' });
    expect(c.state).toMatchObject({ status: 'closed' });
  });

  it('a revoked token stops the client with 4401 auth_invalid', async () => {
    const { agent, token: t } = await token(600);
    const c = client({ token: t });
    const stop = stopped(c);
    await c.connect();
    expect((await call(s.server, shop.key, 'DELETE', `/v1/agents/${agent}/tokens`, { token: t })).status).toBe(204);
    expect(await stop).toEqual({ by: 'server', code: 4401, reason: 'auth_invalid', why: 'auth' });
  });

  it('a deleted queue ends its subscription (queue_deleted); the client and other subscriptions go on', async () => {
    const gone = await queueOf(engine, shop.name, { partitions: 2 });
    const kept = await queueOf(engine, shop.name);
    const c = client({ key: shop.key });
    const sub: Subscription = c.subscribe(shop.name, gone.name, { partitions: [1, 2] });
    const other = c.subscribe(shop.name, kept.name);
    await Promise.all([sub.ready, other.ready]);
    const unsubscribed = new Promise((resolve) => sub.once('unsubscribed', resolve));
    const ended = new Promise((resolve) => sub.once('ended', resolve));
    const res = await s.server.request(`/${shop.name}/${gone.name}`, { method: 'DELETE', key: shop.key });
    expect(res.status).toBe(200);
    expect(await unsubscribed).toEqual({ partitions: [1, 2], reason: 'queue_deleted' });
    expect(await ended).toEqual({ reason: 'queue_deleted' });
    const got = new Promise((resolve) => other.once('message', resolve));
    await engine.append(kept, [{ body: 'still here', ttl: 60, partition: 1 }]);
    expect(await got).toMatchObject({ body: 'still here' });
    expect(c.state).toMatchObject({ status: 'connected' });
  });
});
