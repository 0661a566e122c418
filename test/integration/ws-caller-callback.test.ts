/**
 * caller.callback over a real socket (protocol/websocket.md 5.7, calls.md 3.1) on both engines: the
 * reply and the followers' caller_updated; bad input answers one error frame and changes nothing;
 * with routing on, the callback is offered at its turn and the offer says it is a callback.
 */
import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { engineFactories } from '../helpers/engines.js';
import { call } from '../helpers/server.js';
import { WsTestClient, useWsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('caller.callback ($name)', (factory) => {
  const srv = useWsServer(factory);

  async function setup() {
    const s = srv();
    const app = await s.createApp();
    const rest = (method: string, path: string, body?: unknown) => call(s, app.key, method, path, body);
    const q = (await rest('POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const join = async (number: string) => (await rest('POST', `/v1/queues/${q}/callers`, { number })).body.uuid as string;
    return { s, app, rest, q, join };
  }

  it('turns a waiting caller into a callback at its place; followers see caller_updated', async () => {
    const { s, app, rest, q, join } = await setup();
    const first = await join('100');
    const second = await join('200');
    await join('300');
    const ws = await WsTestClient.open(s.url, { key: app.key });
    try {
      expect((await ws.request({ type: 'callqueue.subscribe', queue_id: q })).type).toBe('callqueue.subscribed');
      const reply = await ws.request({ type: 'caller.callback', queue_id: q, caller_id: second, number: '6135550002' });
      expect(reply).toMatchObject({ type: 'caller.callback.set', caller: { uuid: second, position: 1, status: 'waiting', callback: { number: '6135550002' } } });
      const update = await ws.waitFor((f) => f.type === 'callqueue.update' && f.kind === 'caller_updated');
      expect(update).toMatchObject({ changed: ['callback'], caller: { uuid: second, position: 1 } });
      expect('line' in update).toBe(false);
      // The caller ahead leaves: the callback moves up like anyone.
      await rest('DELETE', `/v1/queues/${q}/callers/${first}?reason=abandoned`);
      expect((await rest('GET', `/v1/queues/${q}/callers/${second}`)).body).toMatchObject({ position: 0, callback: { number: '6135550002' } });
    } finally {
      await ws.close();
    }
  });

  it('bad input: one error frame each, nothing changed', async () => {
    const { s, app, rest, q, join } = await setup();
    const c = await join('100');
    const before = (await rest('GET', `/v1/queues/${q}/callers`)).body;
    const ws = await WsTestClient.open(s.url, { key: app.key });
    try {
      const cases: [Record<string, unknown>, string][] = [
        [{ queue_id: q, caller_id: c, number: 'not a number' }, 'invalid_field'],
        [{ queue_id: q, caller_id: '00000000-0000-4000-8000-000000000000' }, 'caller_not_found'],
        [{ queue_id: q, caller_id: 'nope' }, 'caller_not_found'],
        [{ queue_id: '00000000-0000-4000-8000-000000000000', caller_id: c }, 'call_queue_not_found'],
        [{ queue_id: q, caller_id: c, numbr: '100' }, 'invalid_field'],
        [{ queue_id: q }, 'missing_field'],
        [{ queue_id: q, caller_id: c, number: 7 }, 'invalid_field'],
      ];
      for (const [body, code] of cases) {
        const reply = (await ws.request({ type: 'caller.callback', ...body } as never)) as ServerFrame;
        expect(reply.type, JSON.stringify(body)).toBe('error');
        expect(reply.type === 'error' && reply.error.code, JSON.stringify(body)).toBe(code);
      }
      expect((await rest('GET', `/v1/queues/${q}/callers`)).body).toEqual(before);
    } finally {
      await ws.close();
    }
  });

  it('with routing, a callback is offered at its turn and the offer says so', async () => {
    const { rest, q, join } = await setup();
    const agent = (await rest('POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    expect((await rest('POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001@example.org', paused: true })).status).toBe(201);
    expect((await rest('PUT', `/v1/queues/${q}/routing`, { strategy: 'linear' })).status).toBe(200);
    const c = await join('100');
    expect((await rest('POST', `/v1/queues/${q}/callers/${c}/callback`, {})).body.callback.number).toBe('100');
    await rest('PUT', `/v1/queues/${q}/members/${agent}`, { paused: false });
    await expect.poll(async () => (await rest('GET', `/v1/queues/${q}/offers`)).body).toEqual([
      expect.objectContaining({ caller_id: c, agents: [agent], callback: { number: '100' } }),
    ]);
  });
});
