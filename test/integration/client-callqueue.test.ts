/**
 * CallQueueView against a real server: the view's waiting line equals REST's
 * GET /v1/queues/{id}/callers after every change (joins, a priority jump, a leave from the middle).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient, type CallQueueView, type Caller } from '../../src/client/index.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT } from '../helpers/server.js';
import { useWsServer } from '../helpers/ws-client.js';

/** Resolves once the view, after some change, satisfies `pred`. */
function until(view: CallQueueView, pred: (v: CallQueueView) => boolean): Promise<void> {
  if (pred(view)) return Promise.resolve();
  return new Promise((resolve) => {
    const off = view.on('change', () => {
      if (!pred(view)) return;
      off();
      resolve();
    });
  });
}

describe.each(engineFactories)('CallQueueView against a real server ($name)', (factory) => {
  const srv = useWsServer(factory);
  let client: HoldlineClient | undefined;
  afterEach(async () => {
    await client?.close();
  });

  it('holds the callers in REST’s position order after every change', async () => {
    const s = srv();
    const { key } = await s.createApp();
    const call = async (method: string, path: string, body?: unknown): Promise<Response> =>
      s.request(path, { method, key, headers: JSON_CT, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const created = await call('POST', '/v1/queues', { name: 'support' });
    expect(created.status).toBe(201);
    const queueId = ((await created.json()) as { uuid: string }).uuid;
    const join = async (number: string, priority = 0): Promise<string> => {
      const res = await call('POST', `/v1/queues/${queueId}/callers`, { number, priority });
      expect(res.status).toBe(201);
      return ((await res.json()) as Caller).uuid;
    };
    const restLine = async (): Promise<Array<[string, number | null]>> => {
      const res = await call('GET', `/v1/queues/${queueId}/callers`);
      return ((await res.json()) as Caller[]).filter((c) => c.status === 'waiting').map((c) => [c.uuid, c.position]);
    };
    const viewLine = (v: CallQueueView): Array<[string, number | null]> => v.waiting.map((c) => [c.uuid, c.position]);

    const a = await join('1001');
    const b = await join('1002');
    client = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, key });
    const view = client.callQueue(queueId);
    await view.ready;
    expect(viewLine(view)).toEqual(await restLine());
    expect(view.waiting.map((c) => c.uuid)).toEqual([a, b]);
    const seq0 = view.seq as number;

    const vip = await join('1003', 5);
    await until(view, (v) => v.waiting.length === 3);
    expect(view.waiting.map((c) => c.uuid)).toEqual([vip, a, b]);
    expect(viewLine(view)).toEqual(await restLine());

    const left = await call('DELETE', `/v1/queues/${queueId}/callers/${a}?reason=answered`);
    expect(left.status).toBe(204);
    await until(view, (v) => v.waiting.length === 2);
    expect(view.waiting.map((c) => [c.uuid, c.position])).toEqual([[vip, 0], [b, 1]]);
    expect(viewLine(view)).toEqual(await restLine());
    expect(view.seq).toBe(seq0 + 2);
    expect(view.state).toEqual({ status: 'live', seq: seq0 + 2 });
  });

  it('an update that does not fit: the view asks the server for a fresh snapshot (callqueue.refresh) and is right again', async () => {
    const s = srv();
    const { key } = await s.createApp();
    const call = async (method: string, path: string, body?: unknown): Promise<Response> =>
      s.request(path, { method, key, headers: JSON_CT, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const queueId = ((await (await call('POST', '/v1/queues', { name: 'support' })).json()) as { uuid: string }).uuid;
    const join = async (number: string): Promise<string> => ((await (await call('POST', `/v1/queues/${queueId}/callers`, { number })).json()) as Caller).uuid;
    const a = await join('1001');
    client = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, key });
    const view = client.callQueue(queueId);
    await view.ready;
    const seq0 = view.seq as number;
    const events: string[] = [];
    view.on('refreshing', () => events.push('refreshing'));
    view.on('resubscribing', () => events.push('resubscribing'));
    view.on('change', (c) => events.push(c.kind));
    // A frame that disagrees with the view, as a buggy or replayed update would (the view is internal API here).
    const ghost = { ...view.waiting[0]!, uuid: '00000000-0000-4000-8000-00000000dead' };
    view.onUpdate(
      { type: 'callqueue.update', queue_id: queueId, seq: seq0 + 1, at: new Date().toISOString(), kind: 'caller_joined', caller: ghost, line: { uuid: ghost.uuid, from: null, to: 1, length: 9 }, stats: view.stats! },
      1, // the client's first connection
    );
    expect(events).toEqual(['refreshing']);
    await until(view, (v) => v.state.status === 'live');
    expect(events).toEqual(['refreshing', 'snapshot']);
    expect(view.waiting.map((c) => c.uuid)).toEqual([a]);
    const b = await join('1002');
    await until(view, (v) => v.waiting.length === 2);
    expect(view.waiting.map((c) => c.uuid)).toEqual([a, b]);
  });
});
