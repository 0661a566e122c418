/**
 * Several keys per application over REST (issue 11 item 3; protocol/rest.md "Keys of an
 * application"), on both engines: list, create, rotate with a grace period, revoke one key; the
 * admin key is required; bad input is a 4xx that changes nothing; `POST /v1/apps` of a taken name is
 * 409 app_exists. Live WebSocket connections using a revoked or expired key close with 4401.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { Engine } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { FORM, JSON_CT, errorCode, startTestServer } from '../helpers/server.js';
import { WsTestClient, startWsServer, type WsServer } from '../helpers/ws-client.js';

interface KeyList {
  status: 'ok';
  application_name: string;
  keys: { key_id: string; created: number; expires: number | null }[];
}

describe.each(engineFactories)('REST keys of an application ($name)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { heartbeatMs: 60_000 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await engine.close();
  });

  const admin = (): Record<string, string> => ({ authorization: `Admin ${s.server.adminKey}` });

  async function adminCall(method: string, path: string, body?: string, type: Record<string, string> = JSON_CT): Promise<Response> {
    return s.server.request(path, { method, headers: { ...admin(), ...(body === undefined ? {} : type) }, ...(body === undefined ? {} : { body }) });
  }

  async function createApp(): Promise<{ name: string; key: string; key_id: string; created: number }> {
    const name = `app-${Math.random().toString(16).slice(2, 10)}`;
    const res = await adminCall('POST', '/v1/apps', JSON.stringify({ name }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { application_name: string; key: string; key_id: string; created: number };
    return { name, key: body.key, key_id: body.key_id, created: body.created };
  }

  async function keysOf(name: string): Promise<KeyList> {
    const res = await adminCall('GET', `/v1/apps/${name}/keys`);
    expect(res.status).toBe(200);
    return (await res.json()) as KeyList;
  }

  /** The status of an application route with this key (200 valid, 401 refused). */
  async function keyStatus(name: string, key: string): Promise<number> {
    return (await s.server.request(`/${name}`, { key })).status;
  }

  async function open(key: string): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, { key });
    clients.push(c);
    return c;
  }

  it('POST /v1/apps answers the key id; GET lists keys without secrets; POST adds a working key', async () => {
    const app = await createApp();
    expect(app.key_id).toMatch(/^[0-9a-f]{16}$/);
    expect(await keysOf(app.name)).toEqual({ status: 'ok', application_name: app.name, keys: [{ key_id: app.key_id, created: app.created, expires: null }] });

    const res = await adminCall('POST', `/v1/apps/${app.name}/keys`);
    expect(res.status).toBe(201);
    const added = (await res.json()) as { status: string; application_name: string; key_id: string; key: string };
    expect(added).toEqual({ status: 'ok', application_name: app.name, key_id: expect.stringMatching(/^[0-9a-f]{16}$/), key: expect.any(String) });
    expect(added.key).not.toBe(app.key);
    expect(await keyStatus(app.name, added.key)).toBe(200);
    expect(await keyStatus(app.name, app.key)).toBe(200);
    const listed = await keysOf(app.name);
    expect(listed.keys.map((k) => k.key_id).sort()).toEqual([app.key_id, added.key_id].sort());
    const text = JSON.stringify(listed);
    expect(text).not.toContain(app.key);
    expect(text).not.toContain(added.key);
  });

  it('POST /v1/apps of an existing name is 409 app_exists with a message that says what to do', async () => {
    const app = await createApp();
    const res = await adminCall('POST', '/v1/apps', JSON.stringify({ name: app.name }));
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('app_exists');
    expect(body.error.message).toContain(app.name);
    expect(body.error.message).toContain(`/v1/apps/${app.name}/keys`);
    expect((await keysOf(app.name)).keys).toHaveLength(1);
  });

  it('rotates: a new key, the old one works until `expires`; a grace of 0 refuses it at once', async () => {
    const app = await createApp();
    const before = Math.floor(Date.now() / 1000);
    const res = await adminCall('POST', `/v1/apps/${app.name}/keys/${app.key_id}/rotate`, JSON.stringify({ grace_seconds: 120 }));
    expect(res.status).toBe(201);
    const rotated = (await res.json()) as { key_id: string; key: string; replaced: { key_id: string; expires: number } };
    expect(rotated).toEqual({
      status: 'ok',
      application_name: app.name,
      key_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      key: expect.any(String),
      replaced: { key_id: app.key_id, expires: expect.any(Number) },
    });
    expect(rotated.replaced.expires - before).toBeGreaterThanOrEqual(120);
    expect(rotated.replaced.expires - before).toBeLessThanOrEqual(121);
    expect(await keyStatus(app.name, app.key)).toBe(200);
    expect(await keyStatus(app.name, rotated.key)).toBe(200);
    const listed = await keysOf(app.name);
    expect(listed.keys.find((k) => k.key_id === app.key_id)?.expires).toBe(rotated.replaced.expires);

    // No body: the default grace (3600 s).
    const second = await adminCall('POST', `/v1/apps/${app.name}/keys/${rotated.key_id}/rotate`);
    expect(second.status).toBe(201);
    const secondBody = (await second.json()) as { key: string; replaced: { expires: number } };
    expect(secondBody.replaced.expires - Math.floor(Date.now() / 1000)).toBeGreaterThanOrEqual(3599);
    // Form body, grace 0: the replaced key is refused at once.
    const third = await adminCall('POST', `/v1/apps/${app.name}/keys/${rotated.key_id}/rotate`, 'grace_seconds=0', FORM);
    expect(third.status).toBe(201);
    expect(await keyStatus(app.name, rotated.key)).toBe(401);
    expect(await keyStatus(app.name, secondBody.key)).toBe(200);
  });

  it('the old key of a rotation is refused after its grace, and its open connections close 4401', async () => {
    const app = await createApp();
    const conn = await open(app.key);
    const res = await adminCall('POST', `/v1/apps/${app.name}/keys/${app.key_id}/rotate`, JSON.stringify({ grace_seconds: 2 }));
    const rotated = (await res.json()) as { key: string; replaced: { expires: number } };
    const other = await open(rotated.key);
    expect(await conn.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect(Date.now()).toBeGreaterThanOrEqual(rotated.replaced.expires * 1000);
    expect(await keyStatus(app.name, app.key)).toBe(401);
    await s.endpoint.settled();
    expect(await other.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('DELETE revokes one key at once (204): its connections close 4401, the others stay', async () => {
    const app = await createApp();
    const added = (await (await adminCall('POST', `/v1/apps/${app.name}/keys`)).json()) as { key_id: string; key: string };
    const revokedConn = await open(app.key);
    const keptConn = await open(added.key);
    const res = await adminCall('DELETE', `/v1/apps/${app.name}/keys/${app.key_id}`);
    expect([res.status, await res.text()]).toEqual([204, '']);
    expect(await keyStatus(app.name, app.key)).toBe(401);
    expect(await keyStatus(app.name, added.key)).toBe(200);
    expect(await revokedConn.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    await s.endpoint.settled();
    expect(await keptConn.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await keysOf(app.name)).keys.map((k) => k.key_id)).toEqual([added.key_id]);
  });

  it('refuses to delete the last key that does not expire: 409 last_key', async () => {
    const app = await createApp();
    const res = await adminCall('DELETE', `/v1/apps/${app.name}/keys/${app.key_id}`);
    expect([res.status, await errorCode(res)]).toEqual([409, 'last_key']);
    expect(await keyStatus(app.name, app.key)).toBe(200);
  });

  it('unknown application → 404 app_not_found; unknown or malformed key id → 404 key_not_found; nothing changes', async () => {
    const app = await createApp();
    const before = await keysOf(app.name);
    const unknownId = '0123456789abcdef';
    for (const [method, path] of [
      ['GET', '/v1/apps/nope-nope/keys'],
      ['POST', '/v1/apps/nope-nope/keys'],
      ['POST', `/v1/apps/nope-nope/keys/${app.key_id}/rotate`],
      ['DELETE', `/v1/apps/nope-nope/keys/${app.key_id}`],
      ['DELETE', '/v1/apps/nope-nope/keys/not-an-id'],
      ['GET', '/v1/apps/v1/keys'],
      ['GET', `/v1/apps/${'x'.repeat(51)}/keys`],
    ] as const) {
      const res = await adminCall(method, path);
      expect([method, path, res.status, await errorCode(res)]).toEqual([method, path, 404, 'app_not_found']);
    }
    for (const [method, path] of [
      ['POST', `/v1/apps/${app.name}/keys/${unknownId}/rotate`],
      ['DELETE', `/v1/apps/${app.name}/keys/${unknownId}`],
      ['DELETE', `/v1/apps/${app.name}/keys/${app.key_id.toUpperCase()}`],
      ['DELETE', `/v1/apps/${app.name}/keys/${app.key}`],
      ['POST', `/v1/apps/${app.name}/keys/x/rotate`],
    ] as const) {
      const res = await adminCall(method, path);
      expect([method, path, res.status, await errorCode(res)]).toEqual([method, path, 404, 'key_not_found']);
    }
    expect(await keysOf(app.name)).toEqual(before);
  });

  it('rotate and create bodies are validated: 4xx, nothing changes', async () => {
    const app = await createApp();
    const before = await keysOf(app.name);
    const path = `/v1/apps/${app.name}/keys/${app.key_id}/rotate`;
    for (const [body, type, code] of [
      ['{"grace_seconds":-1}', JSON_CT, 'invalid_field'],
      ['{"grace_seconds":604801}', JSON_CT, 'invalid_field'],
      ['{"grace_seconds":1.5}', JSON_CT, 'invalid_field'],
      ['{"grace_seconds":"60"}', JSON_CT, 'invalid_field'],
      ['{"grace_seconds":null}', JSON_CT, 'invalid_field'],
      ['{"grace":60}', JSON_CT, 'invalid_field'],
      ['grace_seconds=abc', FORM, 'invalid_field'],
      ['{"grace_seconds":', JSON_CT, 'invalid_json'],
      ['[60]', JSON_CT, 'bad_request'],
      ['60', { 'content-type': 'text/plain' }, 'unsupported_media_type'],
    ] as const) {
      const res = await adminCall('POST', path, body, type);
      expect([body, res.status < 500 && res.status >= 400, await errorCode(res)]).toEqual([body, true, code]);
    }
    // Adding a key takes no fields.
    for (const [body, type, code] of [
      ['{"name":"x"}', JSON_CT, 'invalid_field'],
      ['expires=1', FORM, 'invalid_field'],
      ['{', JSON_CT, 'invalid_json'],
      ['x', { 'content-type': 'text/plain' }, 'unsupported_media_type'],
    ] as const) {
      const res = await adminCall('POST', `/v1/apps/${app.name}/keys`, body, type);
      expect([body, res.status < 500 && res.status >= 400, await errorCode(res)]).toEqual([body, true, code]);
    }
    expect(await keysOf(app.name)).toEqual(before);
    expect(await keyStatus(app.name, app.key)).toBe(200);
    // The bounds themselves are accepted.
    const max = await adminCall('POST', path, '{"grace_seconds":604800}');
    expect(max.status).toBe(201);
  });

  it('every key route needs the admin key: 401 without or with a wrong one, the app key is not enough', async () => {
    const app = await createApp();
    const before = await keysOf(app.name);
    const routes = [
      ['GET', `/v1/apps/${app.name}/keys`],
      ['POST', `/v1/apps/${app.name}/keys`],
      ['POST', `/v1/apps/${app.name}/keys/${app.key_id}/rotate`],
      ['DELETE', `/v1/apps/${app.name}/keys/${app.key_id}`],
    ] as const;
    for (const [method, path] of routes) {
      for (const [authorization, code] of [
        [undefined, 'auth_required'],
        ['Admin wrong-key', 'auth_invalid'],
        [`Application ${app.key}`, 'auth_malformed'],
        [`Admin ${app.key}`, 'auth_invalid'],
        ['Admin', 'auth_malformed'],
      ] as const) {
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        const res = await s.server.request(path, { method, headers });
        expect([method, path, authorization, res.status, await errorCode(res)]).toEqual([method, path, authorization, 401, code]);
      }
    }
    expect(await keysOf(app.name)).toEqual(before);
  });
});

describe('REST key routes without HOLDLINE_ADMIN_KEY', () => {
  it('answer 403 admin_disabled', async () => {
    const engine = new MemoryEngine();
    await engine.start();
    const s = await startTestServer(engine, { adminKey: '' });
    try {
      const created = await engine.createApp('shop');
      for (const [method, path] of [
        ['GET', '/v1/apps/shop/keys'],
        ['POST', '/v1/apps/shop/keys'],
        ['POST', `/v1/apps/shop/keys/${created!.keyId}/rotate`],
        ['DELETE', `/v1/apps/shop/keys/${created!.keyId}`],
      ] as const) {
        const res = await s.request(path, { method, headers: { authorization: 'Admin anything' } });
        expect([path, res.status, await errorCode(res)]).toEqual([path, 403, 'admin_disabled']);
      }
    } finally {
      await s.close();
      await engine.close();
    }
  });
});


describe('REST keys of an application: two nodes on one Redis', () => {
  let engines: RedisEngine[] = [];
  let nodes: WsServer[] = [];
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    const prefix = freshPrefix('keys2');
    engines = [new RedisEngine({ url: inject('redisUrl'), prefix }), new RedisEngine({ url: inject('redisUrl'), prefix })];
    for (const e of engines) await e.start();
    nodes = [];
    for (const e of engines) nodes.push(await startWsServer(e, { heartbeatMs: 60_000 }, { adminKey: 'two-nodes-admin' }));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const n of nodes) await n.close();
    for (const e of engines) await e.close();
  });

  it("a key revoked or rotated on one node is refused on the other, and the other's connections close 4401", async () => {
    const [a, b] = nodes as [WsServer, WsServer];
    const admin = { authorization: 'Admin two-nodes-admin' };
    const created = (await (await a.server.request('/v1/apps', { method: 'POST', headers: { ...admin, ...JSON_CT }, body: '{"name":"shop"}' })).json()) as {
      key: string;
      key_id: string;
    };
    const added = (await (await a.server.request('/v1/apps/shop/keys', { method: 'POST', headers: admin })).json()) as { key: string; key_id: string };
    // Node b has used both keys (cached them), and holds a connection for each.
    expect((await b.server.request('/shop', { key: created.key })).status).toBe(200);
    expect((await b.server.request('/shop', { key: added.key })).status).toBe(200);
    const first = await WsTestClient.open(b.url, { key: created.key });
    const second = await WsTestClient.open(b.url, { key: added.key });
    clients.push(first, second);

    const del = await a.server.request(`/v1/apps/shop/keys/${created.key_id}`, { method: 'DELETE', headers: admin });
    expect(del.status).toBe(204);
    expect(await first.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect((await b.server.request('/shop', { key: created.key })).status).toBe(401);

    const rot = await a.server.request(`/v1/apps/shop/keys/${added.key_id}/rotate`, { method: 'POST', headers: { ...admin, ...JSON_CT }, body: '{"grace_seconds":0}' });
    expect(rot.status).toBe(201);
    const rotated = (await rot.json()) as { key: string };
    expect(await second.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
    expect((await b.server.request('/shop', { key: added.key })).status).toBe(401);
    expect((await b.server.request('/shop', { key: rotated.key })).status).toBe(200);
  });
});
