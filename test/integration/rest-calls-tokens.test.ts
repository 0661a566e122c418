/**
 * Agent tokens over REST on both engines (protocol/calls.md section 7, protocol/rest-calls.md):
 * issue, use (`Authorization: Agent <token>` reads the queues the agent serves, nothing else),
 * expire (a short ttl, waited out), revoke, and the agent's deletion.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { call, useServer, type TestServer } from '../helpers/server.js';

async function setup(s: TestServer) {
  const { key } = await s.createApp();
  const q = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
  const other = (await call(s, key, 'POST', '/v1/queues', { name: 'sales' })).body.uuid as string;
  const agent = (await call(s, key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
  await call(s, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001@example.org' });
  const caller = (await call(s, key, 'POST', `/v1/queues/${q}/callers`, { number: '6135551234' })).body.uuid as string;
  return { key, q, other, agent, caller };
}

describe.each(engineFactories)('REST agent tokens ($name)', (factory) => {
  const srv = useServer(factory);

  it('issues a token that reads the queues its agent serves, and nothing else', async () => {
    const s = srv();
    const { key, q, other, agent, caller } = await setup(s);
    const before = Date.now();
    const issued = await call(s, key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 });
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({ token: expect.stringMatching(/^hlt_[A-Za-z0-9_-]{43}$/), agent_uuid: agent, expires_at: expect.any(String) });
    const expires = Date.parse(issued.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
    // The default ttl is 8 hours.
    const dflt = await call(s, key, 'POST', `/v1/agents/${agent}/tokens`);
    expect(Date.parse(dflt.body.expires_at) - Date.now()).toBeGreaterThan(8 * 3600_000 - 60_000);

    const token = { token: issued.body.token as string };
    // What the application's key reads there, the agent reads too (stats: taken at another instant).
    for (const path of [`/v1/queues/${q}`, `/v1/queues/${q}/callers`, `/v1/queues/${q}/callers/${caller}`, `/v1/queues/${q}/members`, `/v1/queues/${q}/members/${agent}`]) {
      expect(await call(s, token, 'GET', path), path).toEqual(await call(s, key, 'GET', path));
    }
    expect((await call(s, token, 'GET', `/v1/queues/${q}/stats`)).body).toMatchObject({ callers: 1, members: 1 });
    // A queue it does not serve: identified, not allowed.
    for (const path of [`/v1/queues/${other}`, `/v1/queues/${other}/callers`]) {
      const res = await call(s, token, 'GET', path);
      expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
    }
    // Management and writes are the application's, even on its own queue.
    const writes: Array<[string, string, unknown]> = [
      ['GET', '/v1/agents', undefined],
      ['GET', '/v1/queues', undefined],
      ['GET', '/v1/tags', undefined],
      ['POST', `/v1/queues/${q}/callers`, { number: '1' }],
      // Its own availability and pause it may set (routing.md, AgentSession); its number it may not.
      ['PUT', `/v1/queues/${q}/members/${agent}`, { number: '2' }],
      ['DELETE', `/v1/queues/${q}/callers/${caller}?reason=answered`, undefined],
      ['POST', `/v1/agents/${agent}/tokens`, {}],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(s, token, method, path, body);
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 403, 'forbidden']);
    }
    expect((await call(s, key, 'GET', `/v1/queues/${q}/callers`)).body).toHaveLength(1);
    expect((await call(s, key, 'GET', `/v1/queues/${q}/members/${agent}`)).body.paused).toBe(false);

    // Removed from the queue, the agent can no longer read it.
    await call(s, key, 'DELETE', `/v1/queues/${q}/members/${agent}`);
    expect((await call(s, token, 'GET', `/v1/queues/${q}/callers`)).status).toBe(403);
  });

  it('an expired token is refused as token_expired', async () => {
    const s = srv();
    const { key, q, agent } = await setup(s);
    const issued = await call(s, key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 1 });
    const token = { token: issued.body.token as string };
    expect((await call(s, token, 'GET', `/v1/queues/${q}/callers`)).status).toBe(200);
    const wait = Date.parse(issued.body.expires_at) - Date.now() + 50;
    if (wait > 0) await sleep(wait);
    const res = await call(s, token, 'GET', `/v1/queues/${q}/callers`);
    expect([res.status, res.body.error.code]).toEqual([401, 'token_expired']);
  });

  it('a revoked token stops working; other tokens of the agent and other agents are untouched', async () => {
    const s = srv();
    const { key, q, agent } = await setup(s);
    const bob = (await call(s, key, 'POST', '/v1/agents', { name: 'Bob' })).body.uuid as string;
    await call(s, key, 'POST', `/v1/queues/${q}/members`, { agent_id: bob, number: '1002@example.org' });
    const t1 = { token: (await call(s, key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string };
    const t2 = { token: (await call(s, key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string };
    const tb = { token: (await call(s, key, 'POST', `/v1/agents/${bob}/tokens`, { ttl: 600 })).body.token as string };

    // Bob's token named under Alice's URL is left alone.
    expect((await call(s, key, 'DELETE', `/v1/agents/${agent}/tokens`, { token: tb.token })).status).toBe(204);
    expect((await call(s, tb, 'GET', `/v1/queues/${q}/stats`)).status).toBe(200);

    expect((await call(s, key, 'DELETE', `/v1/agents/${agent}/tokens`, { token: t1.token })).status).toBe(204);
    const refused = await call(s, t1, 'GET', `/v1/queues/${q}/callers`);
    expect([refused.status, refused.body.error.code]).toEqual([401, 'auth_invalid']);
    expect((await call(s, t2, 'GET', `/v1/queues/${q}/callers`)).status).toBe(200);
    // Revoking again, or a token never issued: nothing to do, same answer.
    expect((await call(s, key, 'DELETE', `/v1/agents/${agent}/tokens`, { token: t1.token })).status).toBe(204);
    expect((await call(s, key, 'DELETE', `/v1/agents/${agent}/tokens`, { token: 'hlt_never-issued' })).status).toBe(204);

    // Deleting the agent ends all its tokens.
    await call(s, key, 'DELETE', `/v1/agents/${agent}`);
    expect((await call(s, t2, 'GET', `/v1/queues/${q}/callers`)).body.error.code).toBe('auth_invalid');
    expect((await call(s, tb, 'GET', `/v1/queues/${q}/callers`)).status).toBe(200);
  });

  it('a token works on the WebSocket hook of the server context too', async () => {
    const s = srv();
    const { key, agent } = await setup(s);
    const issued = await call(s, key, 'POST', `/v1/agents/${agent}/tokens`, { ttl: 60 });
    const app = (await s.engine.appForKey(key))!;
    await expect(s.server.context.agentForToken(issued.body.token)).resolves.toEqual({ application: app, agentUuid: agent, expiresAtMs: Date.parse(issued.body.expires_at) });
    await expect(s.server.context.agentForToken('hlt_nope')).rejects.toMatchObject({ code: 'auth_invalid' });
  });
});
