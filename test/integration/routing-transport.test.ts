/**
 * Routing over the wire (protocol/routing.md sections 1, 4 and 7), both engines, real sockets:
 * REST settings, tiers, offers and answers with their documented 4xx (nothing changed), and the
 * WebSocket frames: `offer` pushed to the agent's connection, `offer.accept` / `offer.reject`
 * answered, `offer.revoked` to the agents that lost a ring_all offer, error frames for bad answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { engineFactories } from '../helpers/engines.js';
import { call, type TestServer } from '../helpers/server.js';
import { WsTestClient, useWsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('routing over REST and WebSocket ($name)', (factory) => {
  const srv = useWsServer(factory);
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  async function world(s: TestServer, agents = 2) {
    const { key } = await s.createApp();
    const rest = (method: string, path: string, body?: unknown) => call(s, key, method, path, body);
    const queue = (await rest('POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const ids: string[] = [];
    const tokens: string[] = [];
    for (let i = 0; i < agents; i++) {
      const agent = (await rest('POST', '/v1/agents', { name: `agent ${i}` })).body.uuid as string;
      expect((await rest('POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: `100${i}` })).status).toBe(201);
      ids.push(agent);
      tokens.push((await rest('POST', `/v1/agents/${agent}/tokens`, {})).body.token as string);
    }
    return { key, rest, queue, agents: ids, tokens };
  }

  async function desk(s: TestServer, token: string): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, { token });
    clients.push(c);
    await c.request({ type: 'ping' });
    return c;
  }

  it('settings and tiers over REST, with documented 4xx that change nothing', async () => {
    const s = srv();
    const w = await world(s, 1);
    const path = `/v1/queues/${w.queue}/routing`;
    expect((await w.rest('GET', path)).body).toEqual({
      strategy: 'manual', offer_timeout_seconds: 15, wrapup_seconds: 0, autopause_after_missed: 0, required_tags: [], relax_after_seconds: 0,
    });
    expect((await w.rest('PUT', path, { strategy: 'longest_idle', wrapup_seconds: 5 })).body).toMatchObject({ strategy: 'longest_idle', wrapup_seconds: 5 });
    const before = (await w.rest('GET', path)).body;
    for (const [body, field] of [
      [{ strategy: 'fastest' }, 'strategy'],
      [{ required_tags: ['two words'] }, 'required_tags'],
      [{ required_tags: 'french' }, 'required_tags'],
      [{ offer_timeout_seconds: 0 }, 'offer_timeout_seconds'],
      [{ wrapup_seconds: -1 }, 'wrapup_seconds'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      const r = await w.rest('PUT', path, body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: { code: 'invalid_field', field } });
    }
    expect((await w.rest('GET', path)).body).toEqual(before);
    expect((await w.rest('PUT', '/v1/queues/00000000-0000-4000-8000-000000000000/routing', { strategy: 'linear' })).status).toBe(404);
    const member = `/v1/queues/${w.queue}/members/${w.agents[0]}/routing`;
    expect((await w.rest('PUT', member, { penalty: 2 })).body).toMatchObject({ penalty: 2, calls_taken: 0, missed_offers: 0, offer_id: null });
    expect((await w.rest('PUT', member, { penalty: 1001 })).status).toBe(400);
    expect((await w.rest('PUT', member, {})).body).toMatchObject({ error: { code: 'missing_field', field: 'penalty' } });
    expect((await w.rest('GET', member)).body.penalty).toBe(2);
    // An agent token may read its queue's settings, not change them.
    expect((await call(s, { token: w.tokens[0]! }, 'GET', path)).status).toBe(200);
    expect((await call(s, { token: w.tokens[0]! }, 'PUT', path, { strategy: 'manual' })).status).toBe(403);
  });

  it('concurrent PUTs of different settings all hold: each sets its own fields over the stored ones', async () => {
    const s = srv();
    const w = await world(s, 0);
    const path = `/v1/queues/${w.queue}/routing`;
    const subsets = [
      { offer_timeout_seconds: 33 }, { wrapup_seconds: 44 }, { autopause_after_missed: 5 }, { relax_after_seconds: 66 }, { required_tags: ['french'] },
    ];
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(subsets.map((subset) => w.rest('PUT', path, subset)));
      for (const [i, a] of answers.entries()) expect(a.body, `round ${round}`).toMatchObject(subsets[i]!);
      expect((await w.rest('GET', path)).body, `round ${round}`).toEqual({ strategy: 'manual', ...Object.assign({}, ...subsets) });
      // The empty list is a list again after a merge (and stays one on Redis, where the script re-encodes the settings).
      expect((await w.rest('PUT', path, { required_tags: [] })).body.required_tags).toEqual([]);
      expect((await w.rest('PUT', path, { wrapup_seconds: 0 })).body.required_tags).toEqual([]);
    }
  });

  it('the agent gets an offer frame, accepts it over WebSocket; bad answers get error frames', async () => {
    const s = srv();
    const w = await world(s, 2);
    const [a, b] = [await desk(s, w.tokens[0]!), await desk(s, w.tokens[1]!)];
    await w.rest('PUT', `/v1/queues/${w.queue}/routing`, { strategy: 'linear' });
    const caller = (await w.rest('POST', `/v1/queues/${w.queue}/callers`, { number: '6135550001' })).body.uuid as string;
    const offer = (await a.next('offer')).offer;
    expect(offer).toMatchObject({ queue_id: w.queue, caller_id: caller, agents: [w.agents[0]], strategy: 'linear' });
    expect((await w.rest('GET', `/v1/agents/${w.agents[0]}/offer`)).body).toEqual(offer);
    expect((await w.rest('GET', `/v1/queues/${w.queue}/offers`)).body).toEqual([offer]);

    const err = (f: ServerFrame): string | undefined => (f.type === 'error' ? f.error.code : undefined);
    expect(err(await b.request({ type: 'offer.accept', id: 1, queue_id: w.queue, offer_id: offer.offer_id }))).toBe('offer_not_yours');
    expect(err(await a.request({ type: 'offer.accept', queue_id: w.queue, offer_id: 'nope' }))).toBe('offer_not_found');
    const boss = await WsTestClient.open(s.url, { key: w.key });
    clients.push(boss);
    expect(err(await boss.request({ type: 'offer.accept', queue_id: w.queue, offer_id: offer.offer_id }))).toBe('forbidden');
    expect((await w.rest('GET', `/v1/queues/${w.queue}/callers/${caller}`)).body).toMatchObject({ status: 'ringing', member_uuid: w.agents[0] });

    expect(await a.request({ type: 'offer.accept', id: 7, queue_id: w.queue, offer_id: offer.offer_id })).toMatchObject({ type: 'offer.accepted', id: 7, offer });
    expect(err(await a.request({ type: 'offer.accept', queue_id: w.queue, offer_id: offer.offer_id }))).toBe('offer_not_found');
    expect((await w.rest('GET', `/v1/queues/${w.queue}/callers/${caller}`)).body).toMatchObject({ status: 'connected', member_uuid: w.agents[0] });
    expect((await w.rest('GET', `/v1/queues/${w.queue}/members/${w.agents[0]}`)).body.status).toBe('busy');
  });

  it('REST answers for a PBX; ring_all revokes the others', async () => {
    const s = srv();
    const w = await world(s, 2);
    const [a, b] = [await desk(s, w.tokens[0]!), await desk(s, w.tokens[1]!)];
    await w.rest('PUT', `/v1/queues/${w.queue}/routing`, { strategy: 'ring_all' });
    await w.rest('POST', `/v1/queues/${w.queue}/callers`, { number: '6135550001' });
    const offer = (await a.next('offer')).offer;
    expect((await b.next('offer')).offer).toEqual(offer);
    const path = `/v1/queues/${w.queue}/offers/${offer.offer_id}`;
    expect((await w.rest('POST', `${path}/accept`, {})).body).toMatchObject({ error: { code: 'missing_field', field: 'agent_id' } });
    expect((await w.rest('POST', `${path}/accept`, { agent_id: 'nope' })).status).toBe(400);
    expect((await w.rest('POST', `/v1/queues/${w.queue}/offers/nope/accept`, { agent_id: w.agents[1] })).status).toBe(404);
    expect((await w.rest('GET', `/v1/queues/${w.queue}/offers`)).body).toEqual([offer]);
    const r = await w.rest('POST', `${path}/accept`, { agent_id: w.agents[1] });
    expect(r.status).toBe(200);
    expect(await a.next('offer.revoked')).toMatchObject({ offer_id: offer.offer_id, reason: 'accepted_elsewhere' });
    expect((await w.rest('POST', `${path}/reject`, { agent_id: w.agents[0] })).status).toBe(404);
    // An agent token answers for itself only.
    expect((await call(s, { token: w.tokens[0]! }, 'POST', `${path}/accept`, { agent_id: w.agents[1] })).status).toBe(403);
  });
});
