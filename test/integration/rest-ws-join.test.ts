/**
 * A client that reads the truth over REST and follows changes over WebSocket must be able to join
 * the two (protocol/rest.md, rest-calls.md, websocket.md): REST message reads carry each message's
 * `seq` and the post answer its `message_id` (next to Queuey's `key`), as WebSocket frames do; the
 * REST callers list carries the call queue's `seq` (Holdline-Seq header), from which
 * `callqueue.subscribe` with `since_seq` continues exactly.
 */
import { describe, expect, it } from 'vitest';
import { CallQueueFollower } from '../helpers/call-follower.js';
import type { Caller } from '../../src/engine/call-types.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT, call } from '../helpers/server.js';
import { WsTestClient, useWsServer } from '../helpers/ws-client.js';

describe.each(engineFactories)('REST truth joined with WebSocket updates ($name)', (factory) => {
  const srv = useWsServer(factory);

  it('messages: the post answer names message_id and seq; REST reads and WebSocket frames carry the same seq', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    expect((await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', partitions: 2 }) })).status).toBe(201);
    const c = await WsTestClient.open(s.url, { key });
    await c.request({ type: 'subscribe', application: name, queue: 'q', partitions: [2] });
    const posted = await s.request(`/${name}/q`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ messages: [{ body: 'a', partition: 2 }, { body: 'b', partition: 2 }] }) });
    const acks = ((await posted.json()) as { messages: Array<{ key: string; message_id: string; seq: number; partition: number }> }).messages;
    expect(acks.map((a) => [a.key === a.message_id, a.seq])).toEqual([[true, 1], [true, 2]]);
    const read = ((await (await s.request(`/${name}/q?partitions=2`, { key })).json()) as { messages: Array<{ message_id: string; seq: number }> }).messages;
    await c.until(() => c.messages().length === 2, 'live messages');
    expect(c.messages().map((m) => [m.message_id, m.seq])).toEqual(read.map((m) => [m.message_id, m.seq]));
    expect(read.map((m) => [m.message_id, m.seq])).toEqual(acks.map((a) => [a.message_id, a.seq]));
    await c.close();
  });

  it('callers: the list\'s Holdline-Seq is a since_seq the WebSocket continues from exactly', async () => {
    const s = srv();
    const { key } = await s.createApp();
    const queueId = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const join = async (priority = 0): Promise<string> => (await call(s, key, 'POST', `/v1/queues/${queueId}/callers`, { number: '6135550000', priority })).body.uuid as string;
    await join();
    await join();
    const listed = await s.request(`/v1/queues/${queueId}/callers`, { key });
    expect(listed.status).toBe(200);
    const seq = Number(listed.headers.get('holdline-seq'));
    expect(seq).toBe(2);
    const callers = (await listed.json()) as Caller[];
    const late = await join(5); // after the read: must come as an update
    const c = await WsTestClient.open(s.url, { key });
    expect(await c.request({ type: 'callqueue.subscribe', queue_id: queueId, since_seq: seq })).toMatchObject({ recovered: true, seq });
    const update = await c.next('callqueue.update');
    if (update.kind !== 'caller_joined') throw new Error(`unexpected ${update.kind}`);
    expect(update.seq).toBe(seq + 1);
    // The REST list as a view at `seq`, then the update: the line REST shows now.
    const view = new CallQueueFollower({ seq, queue: (await call(s, key, 'GET', `/v1/queues/${queueId}`)).body as never, callers, members: [], stats: update.stats });
    expect(view.apply(update)).toBe('applied');
    const now = (await call(s, key, 'GET', `/v1/queues/${queueId}/callers`)).body as Caller[];
    expect(view.waitingLine()).toEqual(now.filter((x) => x.status === 'waiting').map((x) => x.uuid));
    expect(view.waitingLine()[0]).toBe(late);
    await c.close();
  });
});
