/**
 * publish, history, state.set, ping and heartbeats over a real socket (protocol/websocket.md 4.1,
 * 4.5, 4.6, 6), on both engines and both wire formats.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerFrame, WireFormat } from '../../src/codec/index.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

function as<T extends ServerFrame['type']>(type: T, frame: ServerFrame): Frame<T> {
  if (frame.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
  return frame as Frame<T>;
}

const variants = engineFactories.flatMap((factory) => (['json', 'msgpack'] as WireFormat[]).map((format) => ({ factory, format, name: `${factory.name}, ${format}` })));

describe.each(variants)('ws messages ($name)', ({ factory, format }) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let reader: { name: string; key: string };
  let q: QueueMeta;
  let c: WsTestClient;

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { heartbeatMs: 150, maxReplyBytes: 4096 });
    shop = await appWithKey(engine);
    reader = await appWithKey(engine);
    q = await queueOf(engine, shop.name, { partitions: 3, principles: [`app:${reader.name}`] });
    c = await WsTestClient.open(s.url, { key: shop.key, format });
  });
  afterEach(async () => {
    await c.close();
    await s.close();
    await engine.close();
  });

  it('publish acks in input order with ids, partitions, seq and timestamps; history returns what was stored', async () => {
    const published = as(
      'published',
      await c.request({
        type: 'publish',
        application: shop.name,
        queue: q.name,
        messages: [
          { body: 'one', partition: 2 },
          { body: 'two', partition: 1, ttl: 60, content_type: 'text/plain' },
          { body: 'three', partition: 2 },
        ],
      }),
    );
    expect(published.messages.map((m) => [m.partition, m.seq])).toEqual([[2, 1], [1, 1], [2, 2]]);
    for (const m of published.messages) {
      expect(m.message_id).toMatch(/^[0-9a-f]{32}$/);
      expect(m.timestamp).toBeGreaterThan(1e9);
    }
    const read = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [2, 1] }));
    expect(read.truncated).toBe(false);
    expect(read.messages.map((m) => m.body).sort()).toEqual(['one', 'three', 'two']);
    const two = read.messages.find((m) => m.body === 'two')!;
    expect(two).toMatchObject({ message_id: published.messages[1]!.message_id, partition: 1, seq: 1, content_type: 'text/plain' });
    const desc = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [2], order: 'descending', limit: 1 }));
    expect(desc.messages.map((m) => m.body)).toEqual(['three']);
    const since = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [2], since: published.messages[2]!.message_id }));
    expect(since.messages.map((m) => m.body)).toEqual(['three']);
  });

  it('byte bodies travel as bytes (bin in MessagePack, base64 in JSON) and come back as bytes', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: bytes, partition: 1 }, { body: 'text', partition: 1 }] });
    const read = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name }));
    expect(read.messages[0]!.body).toEqual(bytes);
    expect(read.messages[1]!.body).toBe('text');
  });

  it('in_reply_to is recorded and returned', async () => {
    const first = as('published', await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'q', partition: 1 }] }));
    const id = first.messages[0]!.message_id;
    await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'a', partition: 1, in_reply_to: id }] });
    const read = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name }));
    expect(read.messages[1]).toMatchObject({ body: 'a', in_reply_to: id });
  });

  it('history is cut to max_reply_bytes with truncated: true, and pages on from the last id', async () => {
    const bodies = Array.from({ length: 30 }, (_, i) => `${i}`.padStart(3, '0') + 'x'.repeat(300));
    await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: bodies.map((body) => ({ body, partition: 1 })) });
    const seen: string[] = [];
    let since: string | undefined;
    for (let round = 0; round < 30 && seen.length < 30; round++) {
      const page = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, ...(since === undefined ? {} : { since }) }));
      const fresh = since === undefined ? page.messages : page.messages.slice(1);
      seen.push(...fresh.map((m) => m.body as string));
      if (seen.length < 30) expect(page.truncated).toBe(true);
      since = page.messages[page.messages.length - 1]!.message_id;
    }
    expect(seen).toEqual(bodies);
  });

  it('state.set sets and clears processing state for the owner and principles, not for others', async () => {
    const pub = as('published', await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'job', partition: 3 }] }));
    const id = pub.messages[0]!.message_id;
    const set = as(
      'state.updated',
      await c.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 3, message_id: id, client_state: 'processing', client_json: { worker: 'w1', n: [1, 2] } }),
    );
    expect(set.message).toMatchObject({ message_id: id, body: 'job', client_state: 'processing', client_json: { worker: 'w1', n: [1, 2] } });
    expect(set.message.updated_at).toBeGreaterThan(0);

    const r = await WsTestClient.open(s.url, { key: reader.key, format });
    const byReader = as('state.updated', await r.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 3, message_id: id, client_state: null }));
    expect(byReader.message.client_state).toBeUndefined();
    expect(byReader.message.client_json).toEqual({ worker: 'w1', n: [1, 2] });
    const anon = await WsTestClient.open(s.url, { format });
    expect(await anon.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 3, message_id: id, client_state: 'x' })).toMatchObject({
      type: 'error',
      error: { code: 'forbidden' },
    });
    const missing = id.slice(0, 28) + (id.slice(28) === 'ffff' ? '0000' : 'ffff');
    expect(await c.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 3, message_id: missing, client_state: 'x' })).toMatchObject({
      type: 'error',
      error: { code: 'message_not_found' },
    });
    expect(await c.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 2, message_id: id, client_state: 'x' })).toMatchObject({
      type: 'error',
      error: { code: 'message_not_found' },
    });
    const read = as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [3] }));
    expect(read.messages[0]).toMatchObject({ client_json: { worker: 'w1', n: [1, 2] } });
    expect(read.messages[0]!.client_state).toBeUndefined();
    await r.close();
    await anon.close();
  });

  it('history after state.set shows the new state, never the reply read before it', async () => {
    const pub = as('published', await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'é "job"', partition: 2 }, { body: Uint8Array.of(0, 255), partition: 2 }] }));
    const read = async () => as('history.result', await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [2] })).messages;
    expect((await read()).map((m) => m.client_state)).toEqual([undefined, undefined]);
    expect((await read())[1]!.body).toEqual(Uint8Array.of(0, 255));
    for (const [i, state] of [[0, 'processing'], [1, 'processing'], [0, 'done']] as const) {
      await c.request({ type: 'state.set', application: shop.name, queue: q.name, partition: 2, message_id: pub.messages[i]!.message_id, client_state: state, client_json: { step: state } });
      const after = await read();
      expect(after[i]).toMatchObject({ client_state: state, client_json: { step: state } });
    }
    const last = await read();
    expect(last.map((m) => [m.body, m.client_state])).toEqual([['é "job"', 'done'], [Uint8Array.of(0, 255), 'processing']]);
  });

  it('ping → pong with the server time; idle connections get heartbeats', async () => {
    const pong = as('pong', await c.request({ type: 'ping', id: 42 }));
    expect(pong.id).toBe(42);
    expect(Math.abs(pong.time - Date.now() / 1000)).toBeLessThan(60);
    const from = c.frames.length;
    const beat = await c.next('heartbeat', from);
    expect(beat.time).toBeGreaterThan(0);
  });
});
