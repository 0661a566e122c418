/**
 * Batched delivery over real sockets (protocol/websocket.md 4.2, `subscribe` with `batch: true`):
 * `messages` frames carry the same guarantee as `message` frames — every message after the resume
 * point once, in order, catch-up then live — in both formats and on both engines; batch and
 * per-message subscribers share a partition without affecting each other; the last id of a batch
 * is a resume point; frames respect the size bound; a slow consumer resumes with `resync`; a bad
 * `batch` field is refused and changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessagesFrame, ServerFrame } from '../../src/codec/index.js';
import { decodeMessageId } from '../../src/domain/ids.js';
import type { Engine, QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { messageFrame } from '../../src/server/ws/wire.js';
import { engineFactories } from '../helpers/engines.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

async function append(engine: Engine, q: QueueMeta, n: number, partition = 1, body: (i: number) => string | Uint8Array = (i) => `m${i}`): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ body: body(i + j), ttl: 3600, partition }));
    out.push(...(await engine.append(q, batch)));
  }
  return out;
}

function batches(c: WsTestClient, q: QueueMeta, partition = 1): MessagesFrame[] {
  return c.frames.filter((f): f is MessagesFrame => f.type === 'messages' && f.queue === q.name && f.partition === partition);
}

/** Every message delivered in `messages` frames of the partition, flattened, in arrival order. */
function batchedSeqs(c: WsTestClient, q: QueueMeta, partition = 1): number[] {
  return batches(c, q, partition).flatMap((f) => f.messages.map((m) => m.seq));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const isMessages = (f: ServerFrame): boolean => f.type === 'messages';

describe.each(engineFactories)('ws subscribe with batch ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let q: QueueMeta;
  const clients: WsTestClient[] = [];

  const open = async (format: 'json' | 'msgpack' = 'json'): Promise<WsTestClient> => {
    const c = await WsTestClient.open(s.url, { key: shop.key, format });
    clients.push(c);
    return c;
  };
  const sub = (extra: object = {}) => ({ type: 'subscribe' as const, application: shop.name, queue: q.name, batch: true, ...extra });

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { historyPageSize: 50 });
    shop = await appWithKey(engine);
    q = await queueOf(engine, shop.name, { partitions: 3 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await engine.close();
  });

  it('only new: live messages arrive in `messages` frames, in order, after `subscribed`, never as `message`', async () => {
    const c = await open();
    await append(engine, q, 5);
    const reply = await c.request(sub());
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: true }] });
    const stored = await append(engine, q, 100, 1, (i) => `new${i}`);
    await c.until(() => batchedSeqs(c, q).length === 100, 'the new messages');
    expect(batchedSeqs(c, q)).toEqual(range(6, 105));
    expect(c.messages()).toEqual([]);
    expect(c.frames.findIndex((f) => f.type === 'subscribed')).toBeLessThan(c.frames.findIndex(isMessages));
    // Each item is the message object of a `message` frame, minus partition (the frame's).
    const items = batches(c, q).flatMap((f) => f.messages);
    items.forEach((item, i) => {
      const { type: _t, application: _a, queue: _q, partition: _p, ...single } = messageFrame(shop.name, q.name, stored[i]!);
      expect(item).toEqual(single);
    });
    for (const f of batches(c, q)) expect(f).toMatchObject({ application: shop.name, queue: q.name, partition: 1 });
    // One append is announced in one go: fewer frames than messages.
    expect(batches(c, q).length).toBeLessThan(100);
  });

  it('a long catch-up racing live appends: no gap, no duplicate, in order; batches never mix partitions', async () => {
    const c = await open();
    await append(engine, q, 600);
    await append(engine, q, 30, 2);
    expect((await c.request(sub({ since: 0, partitions: [1, 2] }))).type).toBe('subscribed');
    // Appends while the 600 stored messages are paged out (50 per read).
    await append(engine, q, 400);
    await append(engine, q, 20, 2);
    await c.until(() => batchedSeqs(c, q).length >= 1000 && batchedSeqs(c, q, 2).length >= 50, 'all messages');
    expect(batchedSeqs(c, q)).toEqual(range(1, 1000));
    expect(batchedSeqs(c, q, 2)).toEqual(range(1, 50));
    for (const f of c.frames.filter(isMessages) as MessagesFrame[]) {
      expect(f.messages.length).toBeGreaterThan(0);
      // Ids carry the partition: every item of a frame belongs to the frame's partition.
      for (const m of f.messages) expect(decodeMessageId(m.message_id).partition).toBe(f.partition);
    }
  });

  it('batch and per-message subscribers on one partition, in both formats, each get everything once', async () => {
    const plainJson = await open('json');
    const batchJson = await open('json');
    const plainPack = await open('msgpack');
    const batchPack = await open('msgpack');
    const stored = await append(engine, q, 40);
    await plainJson.request(sub({ batch: false, after: { '1': stored[9]!.id } }));
    await batchJson.request(sub({ after: { '1': stored[9]!.id } }));
    await plainPack.request(sub({ batch: undefined, after: { '1': stored[9]!.id } }));
    await batchPack.request(sub({ after: { '1': stored[9]!.id } }));
    const later = await append(engine, q, 250, 1, (i) => (i % 2 === 0 ? `t${i}` : new Uint8Array([i % 256, 0, 255])));
    const all = [...stored.slice(10), ...later];
    for (const c of [plainJson, plainPack]) {
      await c.until(() => c.messages().length >= all.length, 'per-message subscriber');
      expect(c.messages().map((m) => m.seq)).toEqual(range(11, 290));
      expect(c.frames.some(isMessages)).toBe(false);
      // Exactly the frames a per-message subscription always got.
      expect(c.messages()).toEqual(all.map((m) => messageFrame(shop.name, q.name, m)));
    }
    for (const c of [batchJson, batchPack]) {
      await c.until(() => batchedSeqs(c, q).length >= all.length, 'batch subscriber');
      expect(batchedSeqs(c, q)).toEqual(range(11, 290));
      expect(c.messages()).toEqual([]);
      const bodies = batches(c, q).flatMap((f) => f.messages.map((m) => m.body));
      expect(bodies).toEqual(all.map((m) => m.body));
    }
  });

  it('resume with `after` = the last id of a batch: exactly the messages after it, recovered true', async () => {
    const c = await open();
    await c.request(sub());
    await append(engine, q, 30);
    await append(engine, q, 30);
    await c.until(() => batchedSeqs(c, q).length === 60, 'first messages');
    const firstBatch = batches(c, q)[0]!;
    const resumeAt = firstBatch.messages.at(-1)!;
    await c.close();
    await append(engine, q, 15);

    const d = await open('msgpack');
    const reply = await d.request(sub({ after: { '1': resumeAt.message_id } }));
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: true }] });
    await append(engine, q, 5);
    await d.until(() => batchedSeqs(d, q).length >= 80 - resumeAt.seq, 'catch-up then live');
    expect(batchedSeqs(d, q)).toEqual(range(resumeAt.seq + 1, 80));
  });

  it('frames stay within max_frame_bytes: a catch-up and a live burst are split, in order', async () => {
    await s.close();
    s = await startWsServer(engine, { historyPageSize: 200, maxFrameBytes: 8192 });
    const c = await open();
    await append(engine, q, 100, 1, (i) => `${i}`.padEnd(1000, 'x'));
    await c.request(sub({ since: 0 }));
    await append(engine, q, 100, 1, (i) => `${i}`.padEnd(1000, 'y'));
    await c.until(() => batchedSeqs(c, q).length >= 200, 'every message');
    expect(batchedSeqs(c, q)).toEqual(range(1, 200));
    expect(batches(c, q).length).toBeGreaterThanOrEqual(200 / 8);
    for (const f of batches(c, q)) expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThanOrEqual(8192);
  });

  it('one connection follows a partition once: a second subscribe in the other mode is already_subscribed', async () => {
    const c = await open();
    expect((await c.request(sub({ partitions: [1] }))).type).toBe('subscribed');
    expect(await c.request(sub({ partitions: [1, 2], batch: false }))).toMatchObject({ type: 'error', error: { code: 'already_subscribed' } });
    // Nothing changed: partition 2 is not followed, partition 1 still arrives in batches only.
    await append(engine, q, 2, 1);
    await append(engine, q, 2, 2);
    await c.until(() => batchedSeqs(c, q).length === 2, 'both messages of partition 1');
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
    expect(c.frames.filter((f) => f.type === 'message' || (f.type === 'messages' && f.partition !== 1))).toEqual([]);
  });

  it('bad input: `batch` not a boolean → invalid_field, nothing subscribed', async () => {
    for (const format of ['json', 'msgpack'] as const) {
      const c = await open(format);
      for (const batch of ['yes', 1, null, {}]) {
        const reply = await c.request({ ...sub(), batch } as unknown as Parameters<WsTestClient['request']>[0]);
        expect(reply).toMatchObject({ type: 'error', op: 'subscribe', error: { code: 'invalid_field', field: 'batch' } });
      }
      expect(s.endpoint.stats().connections.every((x) => x.subscriptions.length === 0)).toBe(true);
      // Nothing follows: a later message reaches neither kind of frame; a good subscribe still works.
      await append(engine, q, 3);
      expect((await c.request({ type: 'ping' })).type).toBe('pong');
      expect(c.frames.filter((f) => f.type === 'message' || f.type === 'messages')).toEqual([]);
      expect((await c.request(sub())).type).toBe('subscribed');
      await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    }
  });
});

describe.each(engineFactories)('ws subscribe with batch: slow consumer ($name engine)', (factory) => {
  it('resync (slow_consumer), then every message exactly once, in order, in `messages` frames', { timeout: 60_000 }, async () => {
    const engine = await factory.create();
    const s = await startWsServer(engine, { bufferLimitBytes: 128 * 1024, maxBufferBytes: 16 * 1024 * 1024, drainTimeoutMs: 30_000, sampleIntervalMs: 20 });
    const shop = await appWithKey(engine);
    const q = await queueOf(engine, shop.name);
    const slow = await WsTestClient.open(s.url, { key: shop.key });
    const body = 'z'.repeat(8 * 1024);
    const publish = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 25) {
        await engine.append(q, Array.from({ length: Math.min(25, n - i) }, () => ({ body, ttl: 3600, partition: 1 })));
        await new Promise((r) => setImmediate(r));
      }
    };
    try {
      expect((await slow.request({ type: 'subscribe', application: shop.name, queue: q.name, batch: true })).type).toBe('subscribed');
      const mine = () => s.endpoint.stats().connections.find((c) => c.subscriptions.length > 0);
      slow.socket.pause();
      let published = 0;
      while (!(mine()?.lagging ?? false)) {
        expect(mine(), 'the slow subscriber is still connected').toBeDefined();
        expect(published).toBeLessThan(5000);
        await publish(25);
        published += 25;
      }
      await publish(100);
      published += 100;
      slow.socket.resume();
      await slow.until(() => slow.frames.some((f) => f.type === 'resync'), 'resync', 30_000);
      await publish(50);
      published += 50;
      await slow.until(() => batchedSeqs(slow, q).length >= published, 'every message', 30_000);
      expect(batchedSeqs(slow, q)).toEqual(range(1, published));
      expect(slow.frames.find((f) => f.type === 'resync')).toMatchObject({ reason: 'slow_consumer', recovered: true });
      expect(slow.messages()).toEqual([]);
    } finally {
      await slow.close();
      await s.close();
      await engine.close();
    }
  });
});
