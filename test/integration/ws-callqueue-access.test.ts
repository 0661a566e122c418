/**
 * Who may follow which call queue over WebSocket (protocol/websocket.md 2 and 5), and bad
 * call-queue frames (section 8), on both engines with real sockets:
 *   - an agent token follows the queues its agent is a member of, not another queue of its
 *     application (forbidden) nor another application's queue (call_queue_not_found); an
 *     application key follows any queue of its own application only; anonymous none (forbidden);
 *   - an expired, revoked or orphaned (agent deleted) token is refused with 4401, in the URL and
 *     in the `auth` frame;
 *   - each bad frame gets the documented error frame with its `id`, the connection goes on, no
 *     subscription is made, and nothing stored changes.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientFrame, ServerFrame } from '../../src/codec/index.js';
import { engineFactories } from '../helpers/engines.js';
import { call, callSnapshot, type TestServer } from '../helpers/server.js';
import { WsTestClient, useWsServer } from '../helpers/ws-client.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(engineFactories)('call-queue access over WebSocket ($name)', (factory) => {
  const srv = useWsServer(factory);
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  async function open(s: TestServer, creds: { key?: string; token?: string } = {}): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, creds);
    clients.push(c);
    return c;
  }

  /** An application with two queues and an agent that is a member of the first only. */
  async function world(s: TestServer) {
    const { name, key } = await s.createApp();
    const rest = (method: string, path: string, body?: unknown) => call(s, key, method, path, body);
    const mine = (await rest('POST', '/v1/queues', { name: 'mine' })).body.uuid as string;
    const other = (await rest('POST', '/v1/queues', { name: 'other' })).body.uuid as string;
    const agent = (await rest('POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    expect((await rest('POST', `/v1/queues/${mine}/members`, { agent_id: agent, number: '1001' })).status).toBe(201);
    const issue = async (ttl = 600): Promise<{ token: string; expires_at: string }> => (await rest('POST', `/v1/agents/${agent}/tokens`, { ttl })).body;
    const token = (await issue()).token;
    await rest('POST', `/v1/queues/${mine}/callers`, { number: '6135550001' });
    return { name, key, rest, mine, other, agent, token, issue };
  }

  const errorOf = (f: ServerFrame): string | undefined => (f.type === 'error' ? f.error.code : undefined);

  it('an agent token follows its own queues only; an application key its own application’s', async () => {
    const s = srv();
    const shop = await world(s);
    const rival = await world(s);

    for (const how of ['url', 'frame'] as const) {
      const desk = how === 'url' ? await open(s, { token: shop.token }) : await open(s);
      if (how === 'frame') expect(await desk.request({ type: 'auth', token: shop.token })).toMatchObject({ type: 'authenticated', principal: { kind: 'agent', agent_uuid: shop.agent } });
      expect(await desk.request({ type: 'callqueue.subscribe', queue_id: shop.mine })).toMatchObject({ type: 'callqueue.subscribed', recovered: false });
      expect((await desk.next('callqueue.snapshot')).callers.length).toBe(1);
      // A queue of its application it does not serve; a queue of another application.
      expect(await desk.request({ type: 'callqueue.subscribe', id: 1, queue_id: shop.other })).toMatchObject({
        type: 'error', id: 1, op: 'callqueue.subscribe', error: { code: 'forbidden' },
      });
      expect(errorOf(await desk.request({ type: 'callqueue.subscribe', queue_id: rival.mine }))).toBe('call_queue_not_found');
    }

    const boss = await open(s, { key: shop.key });
    for (const q of [shop.mine, shop.other]) expect((await boss.request({ type: 'callqueue.subscribe', queue_id: q })).type).toBe('callqueue.subscribed');
    expect(errorOf(await boss.request({ type: 'callqueue.subscribe', queue_id: rival.other }))).toBe('call_queue_not_found');

    const nobody = await open(s);
    expect(await nobody.request({ type: 'callqueue.subscribe', id: 'a', queue_id: shop.mine })).toMatchObject({ type: 'error', id: 'a', error: { code: 'forbidden' } });

    // Refusals follow nothing: changes to those queues reach no one but the key that follows them.
    await shop.rest('POST', `/v1/queues/${shop.other}/callers`, { number: '6135550002' });
    await rival.rest('POST', `/v1/queues/${rival.mine}/callers`, { number: '6135550003' });
    await boss.until(() => boss.frames.some((f) => f.type === 'callqueue.update' && f.queue_id === shop.other), 'the key sees its other queue');
    for (const c of clients) await c.request({ type: 'ping' });
    for (const c of clients) {
      for (const f of c.frames) if (f.type === 'callqueue.update' || f.type === 'callqueue.snapshot') expect([shop.mine, shop.other]).toContain(f.queue_id);
      if (c !== boss) expect(c.frames.some((f) => f.type === 'callqueue.update' && f.queue_id === shop.other)).toBe(false);
    }
  });

  it('expired, revoked and orphaned tokens are refused with 4401', { timeout: 20_000 }, async () => {
    const s = srv();
    const shop = await world(s);

    const short = await shop.issue(1);
    const revoked = (await shop.issue()).token;
    expect((await shop.rest('DELETE', `/v1/agents/${shop.agent}/tokens`, { token: revoked })).status).toBe(204);
    const wait = Date.parse(short.expires_at) - Date.now() + 50;
    if (wait > 0) await sleep(wait); // the token's TTL has to pass

    for (const [token, code] of [[short.token, 'token_expired'], [revoked, 'auth_invalid']] as const) {
      const inUrl = await WsTestClient.connect(s.url, { token });
      expect(await inUrl.closed).toEqual({ code: 4401, reason: code });
      expect(inUrl.frames).toEqual([]);
      const inFrame = await open(s);
      const reply = await inFrame.request({ type: 'auth', id: 1, token });
      expect(reply).toMatchObject({ type: 'error', id: 1, op: 'auth', error: { code } });
      expect(await inFrame.closed).toEqual({ code: 4401, reason: code });
    }

    // A live token stops working once its agent is deleted.
    const desk = await WsTestClient.open(s.url, { token: shop.token });
    await desk.close();
    expect((await shop.rest('DELETE', `/v1/agents/${shop.agent}`)).status).toBe(204);
    const orphan = await WsTestClient.connect(s.url, { token: shop.token });
    expect(await orphan.closed).toEqual({ code: 4401, reason: 'auth_invalid' });
  });

  it('bad call-queue frames: the documented error, the connection goes on, nothing changes', async () => {
    const s = srv();
    const shop = await world(s);
    const before = await callSnapshot(s.calls, [shop.name]);
    const c = await open(s, { key: shop.key });
    const q = shop.mine;
    const frame = (fields: Record<string, unknown>): ClientFrame => ({ type: 'callqueue.subscribe', ...fields }) as unknown as ClientFrame;

    const cases: Array<[string, unknown, string, string | undefined]> = [
      ['unknown queue', frame({ queue_id: randomUUID() }), 'call_queue_not_found', undefined],
      ['malformed queue id', frame({ queue_id: 'not-a-uuid' }), 'call_queue_not_found', undefined],
      ['queue id with a suffix', frame({ queue_id: `${q}x` }), 'call_queue_not_found', undefined],
      ['empty queue id', frame({ queue_id: '' }), 'invalid_field', 'queue_id'],
      ['queue id too long', frame({ queue_id: 'a'.repeat(65) }), 'invalid_field', 'queue_id'],
      ['queue id a number', frame({ queue_id: 42 }), 'invalid_field', 'queue_id'],
      ['queue id null', frame({ queue_id: null }), 'invalid_field', 'queue_id'],
      ['no queue id', frame({}), 'missing_field', 'queue_id'],
      ['negative since_seq', frame({ queue_id: q, since_seq: -1 }), 'invalid_field', 'since_seq'],
      ['fractional since_seq', frame({ queue_id: q, since_seq: 1.5 }), 'invalid_field', 'since_seq'],
      ['since_seq a string', frame({ queue_id: q, since_seq: '1' }), 'invalid_field', 'since_seq'],
      ['since_seq beyond 2^53', frame({ queue_id: q, since_seq: 2 ** 60 }), 'invalid_field', 'since_seq'],
      ['unknown field', frame({ queue_id: q, partitions: [1] }), 'invalid_field', 'partitions'],
      ['unsubscribe without a queue id', { type: 'callqueue.unsubscribe' }, 'missing_field', 'queue_id'],
      ['unsubscribe, queue id a list', { type: 'callqueue.unsubscribe', queue_id: [q] }, 'invalid_field', 'queue_id'],
      ['refresh without a queue id', { type: 'callqueue.refresh' }, 'missing_field', 'queue_id'],
      ['refresh with an unknown field', { type: 'callqueue.refresh', queue_id: q, since_seq: 1 }, 'invalid_field', 'since_seq'],
      ['refresh of a queue not followed', { type: 'callqueue.refresh', queue_id: q }, 'not_subscribed', 'queue_id'],
    ];
    let id = 100;
    for (const [what, f, code, field] of cases) {
      const reply = await c.request({ ...(f as object), id: ++id } as unknown as ClientFrame);
      expect(reply, what).toMatchObject({ type: 'error', id, op: (f as { type: string }).type, error: { code } });
      if (reply.type === 'error') expect(reply.error.field, what).toBe(field);
    }

    // Still usable, subscribed to nothing: a change reaches it only after a good subscribe.
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
    expect(c.frames.filter((f) => f.type.startsWith('callqueue.'))).toEqual([]);
    expect(await callSnapshot(s.calls, [shop.name])).toEqual(before);
    expect((await c.request({ type: 'callqueue.subscribe', queue_id: q.toUpperCase() })).type).toBe('callqueue.subscribed');
    expect((await c.next('callqueue.snapshot')).queue_id).toBe(q);
    expect(c.undecodable).toEqual([]);
  });
});
