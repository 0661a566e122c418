/**
 * Both transports post through one domain function (MessageQueues, src/domain/queues/service.ts),
 * so a message field exists on both (issue 12, "the domain is the only door"): `in_reply_to` is
 * posted over REST as over WebSocket — JSON, form (single and batch) and a raw body's query — and
 * read back by either; its shape is checked alike (invalid_message_id), its existence by neither
 * (protocol/rest.md, websocket.md 4.1).
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, errorCode } from '../helpers/server.js';
import { WsTestClient, useWsServer } from '../helpers/ws-client.js';

interface Ack {
  message_id: string;
}
interface RestMessage {
  message_id: string;
  body: string;
  in_reply_to?: string;
}

describe.each(engineFactories)('REST and WebSocket post through one door ($name)', (factory) => {
  const srv = useWsServer(factory);

  it('in_reply_to posted over REST (JSON, form, form batch, raw query) is read back over REST and WebSocket', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    expect((await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q' }) })).status).toBe(201);
    const post = async (init: { headers: Record<string, string>; body: string }, query = ''): Promise<Ack[]> => {
      const res = await s.request(`/${name}/q${query}`, { method: 'POST', key, ...init });
      expect(res.status).toBe(201);
      return ((await res.json()) as { messages: Ack[] }).messages;
    };
    const [question] = await post({ headers: JSON_CT, body: JSON.stringify({ body: 'question' }) });
    const id = question!.message_id;
    await post({ headers: JSON_CT, body: JSON.stringify({ body: 'json', in_reply_to: id }) });
    await post({ headers: JSON_CT, body: JSON.stringify({ messages: [{ body: 'json batch', in_reply_to: id }] }) });
    await post({ headers: FORM, body: `body=form&in_reply_to=${id}` });
    await post({ headers: FORM, body: `message.0.body=form+batch&message.0.in_reply_to=${id}&message.1.body=plain` });
    await post({ headers: { 'content-type': 'text/plain' }, body: 'raw' }, `?in_reply_to=${id}`);

    const read = ((await (await s.request(`/${name}/q?limit=10`, { key })).json()) as { messages: RestMessage[] }).messages;
    expect(read.map((m) => [m.body, m.in_reply_to])).toEqual([
      ['question', undefined],
      ['json', id],
      ['json batch', id],
      ['form', id],
      ['form batch', id],
      ['plain', undefined],
      ['raw', id],
    ]);

    const c = await WsTestClient.open(s.url, { key });
    const history = await c.request({ type: 'history', application: name, queue: 'q', limit: 10 });
    if (history.type !== 'history.result') throw new Error(JSON.stringify(history));
    expect(history.messages.map((m) => m.in_reply_to)).toEqual(read.map((m) => m.in_reply_to));
    await c.close();
  });

  it('a malformed in_reply_to is 400 invalid_message_id over REST, as over WebSocket, and stores nothing', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    expect((await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q' }) })).status).toBe(201);
    const bad = [
      { headers: JSON_CT, body: JSON.stringify({ body: 'a', in_reply_to: 'x' }) },
      { headers: JSON_CT, body: JSON.stringify({ messages: [{ body: 'a' }, { body: 'b', in_reply_to: 'A'.repeat(32) }] }) },
      { headers: FORM, body: 'body=a&in_reply_to=42' },
    ];
    for (const init of bad) {
      const res = await s.request(`/${name}/q`, { method: 'POST', key, ...init });
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('invalid_message_id');
    }
    const raw = await s.request(`/${name}/q?in_reply_to=nope`, { method: 'POST', key, headers: { 'content-type': 'text/plain' }, body: 'a' });
    expect(raw.status).toBe(400);
    expect(await errorCode(raw)).toBe('invalid_message_id');
    const read = ((await (await s.request(`/${name}/q`, { key })).json()) as { messages: RestMessage[] }).messages;
    expect(read).toEqual([]);

    const c = await WsTestClient.open(s.url, { key });
    const frame = await c.request({ type: 'publish', application: name, queue: 'q', messages: [{ body: 'a', in_reply_to: 'x' }] });
    expect(frame).toMatchObject({ type: 'error', error: { code: 'invalid_message_id' } });
    await c.close();
  });
});
