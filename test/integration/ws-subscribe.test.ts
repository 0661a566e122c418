/**
 * Subscriptions over a real socket (protocol/websocket.md 4.2–4.4): resume points, `recovered`,
 * reply order, catch-up racing live appends, unsubscribe, the hub's shared engine subscription,
 * an engine resync after Redis restarts, and shutdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { Engine, QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';
import { until } from '../helpers/wait.js';

async function append(engine: Engine, q: QueueMeta, n: number, partition = 1, label = 'm'): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ body: `${label}${i + j}`, ttl: 3600, partition }));
    out.push(...(await engine.append(q, batch)));
  }
  return out;
}

function seqs(c: WsTestClient, q: QueueMeta, partition = 1): number[] {
  return c.messages({ queue: q.name, partition }).map((m) => m.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function indexOf(c: WsTestClient, match: (f: ServerFrame) => boolean): number {
  return c.frames.findIndex(match);
}

describe.each(engineFactories)('ws subscribe ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let q: QueueMeta;
  let c: WsTestClient;

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { historyPageSize: 50 });
    shop = await appWithKey(engine);
    q = await queueOf(engine, shop.name, { partitions: 3 });
    c = await WsTestClient.open(s.url, { key: shop.key });
  });
  afterEach(async () => {
    await c.close();
    await s.close();
    await engine.close();
  });

  const sub = (extra: object = {}) => ({ type: 'subscribe' as const, application: shop.name, queue: q.name, ...extra });

  it('only new: stored messages are not sent; `subscribed` comes before the first message', async () => {
    await append(engine, q, 5);
    const reply = await c.request(sub());
    expect(reply).toMatchObject({ type: 'subscribed', application: shop.name, queue: q.name, partitions: [{ partition: 1, recovered: true }] });
    await append(engine, q, 3, 1, 'new');
    await c.until(() => seqs(c, q).length === 3, 'new messages');
    expect(seqs(c, q)).toEqual([6, 7, 8]);
    expect(c.messages().map((m) => m.body)).toEqual(['new0', 'new1', 'new2']);
    expect(indexOf(c, (f) => f.type === 'subscribed')).toBeLessThan(indexOf(c, (f) => f.type === 'message'));
  });

  it('after: exactly the later messages, then live ones; recovered true', async () => {
    const stored = await append(engine, q, 120);
    const reply = await c.request(sub({ after: { '1': stored[39]!.id } }));
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: true }] });
    await append(engine, q, 10);
    await c.until(() => seqs(c, q).length === 90, 'catch-up and live');
    expect(seqs(c, q)).toEqual(range(41, 130));
  });

  it('partitions default to the keys of after; other partitions are not followed', async () => {
    const p2 = await append(engine, q, 3, 2);
    await append(engine, q, 3, 3);
    const reply = await c.request(sub({ after: { '2': p2[0]!.id } }));
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 2, recovered: true }] });
    await append(engine, q, 1, 3);
    await append(engine, q, 1, 2);
    await c.until(() => seqs(c, q, 2).length === 3, 'partition 2');
    expect(seqs(c, q, 2)).toEqual([2, 3, 4]);
    expect(seqs(c, q, 3)).toEqual([]);
    // An empty `after` is as if absent: partition 1, only new.
    const empty = await c.request(sub({ after: {} }));
    expect(empty).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: true, last_message_id: null }] });
  });

  it('after a message that is gone: recovered false, and every stored later message still comes once', async () => {
    const stored = await append(engine, q, 10);
    await engine.deleteMessages({ app: shop.name, queue: q.name, partition: 1 }, [stored[3]!.id, stored[4]!.id]);
    const reply = await c.request(sub({ after: { '1': stored[3]!.id } }));
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: false }] });
    await c.until(() => seqs(c, q).length === 5, 'later messages');
    expect(seqs(c, q)).toEqual([6, 7, 8, 9, 10]);
  });

  it('after an id no message had, beyond the newest seq: recovered false, delivery strictly after its seq', async () => {
    const [first] = await append(engine, q, 1);
    // The first message's id with seq 5: the right partition, a seq the partition has not reached.
    const made = first!.id.slice(0, 14) + (5).toString(16).padStart(12, '0') + first!.id.slice(26);
    const reply = await c.request(sub({ after: { '1': made } }));
    expect(reply).toMatchObject({ type: 'subscribed', partitions: [{ partition: 1, recovered: false, last_message_id: made, last_seq: 5 }] });
    await append(engine, q, 5);
    await c.until(() => seqs(c, q).length > 0, 'the message after seq 5');
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
    expect(seqs(c, q)).toEqual([6]);
  });

  it('since: every message with timestamp >= since (inclusive), in every partition asked', async () => {
    const first = await append(engine, q, 3, 1);
    await append(engine, q, 2, 2);
    const since = first[1]!.timestampUs / 1e6;
    const reply = await c.request(sub({ partitions: [1, 2], since }));
    expect(reply).toMatchObject({ partitions: [{ partition: 1, recovered: true }, { partition: 2, recovered: true }] });
    await c.until(() => seqs(c, q, 1).length >= 2 && seqs(c, q, 2).length === 2, 'since');
    expect(seqs(c, q, 1)).toEqual(first.filter((m) => m.timestampUs >= first[1]!.timestampUs).map((m) => m.seq));
  });

  it('since without partitions: every partition of the queue', async () => {
    await append(engine, q, 2, 1);
    await append(engine, q, 3, 2);
    await append(engine, q, 1, 3);
    const reply = await c.request(sub({ since: 0 }));
    expect(reply).toMatchObject({ partitions: [{ partition: 1 }, { partition: 2 }, { partition: 3 }] });
    await c.until(() => c.messages().length === 6, 'every stored message');
    expect([seqs(c, q, 1), seqs(c, q, 2), seqs(c, q, 3)]).toEqual([[1, 2], [1, 2, 3], [1]]);
  });

  it('`subscribed` gives each partition\'s position: where delivery starts, a valid resume point', async () => {
    const p1 = await append(engine, q, 4, 1);
    const p2 = await append(engine, q, 3, 2);
    // Only new: the newest stored message; an empty partition: null.
    const onlyNew = await c.request(sub({ partitions: [1, 3] }));
    expect(onlyNew).toMatchObject({
      partitions: [
        { partition: 1, recovered: true, last_message_id: p1[3]!.id, last_seq: 4 },
        { partition: 3, recovered: true, last_message_id: null, last_seq: null },
      ],
    });
    // after: the id given (still a position when the message is gone); since: null.
    const resumed = await c.request(sub({ after: { '2': p2[0]!.id } }));
    expect(resumed).toMatchObject({ partitions: [{ partition: 2, recovered: true, last_message_id: p2[0]!.id, last_seq: 1 }] });
    await c.until(() => seqs(c, q, 2).length === 2, 'partition 2');
    await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    const since = await c.request(sub({ partitions: [2], since: 0 }));
    expect(since).toMatchObject({ partitions: [{ partition: 2, last_message_id: null, last_seq: null }] });
    // Resuming from the position announced for "only new" misses nothing appended since.
    await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    await append(engine, q, 2, 1, 'later');
    const from = c.frames.length;
    await c.request(sub({ after: { '1': p1[3]!.id } }));
    await c.until(() => c.messages({ partition: 1 }).length >= 2 && c.frames.length > from, 'resumed');
    expect(c.frames.slice(from).filter((f) => f.type === 'message').map((f) => (f as { body: unknown }).body)).toEqual(['later0', 'later1']);
  });

  it('a long catch-up racing live appends: no gap, no duplicate, in order', async () => {
    await append(engine, q, 600);
    const reply = await c.request(sub({ since: 0 }));
    expect(reply.type).toBe('subscribed');
    // Appends while the 600 stored messages are paged out (50 per read).
    await append(engine, q, 400);
    await c.until(() => seqs(c, q).length >= 1000, 'all messages');
    expect(seqs(c, q)).toEqual(range(1, 1000));
  });

  it('unsubscribe: only the named partitions; no message of them after the reply; idempotent', async () => {
    await c.request(sub({ partitions: [1, 2] }));
    await append(engine, q, 2, 1);
    await c.until(() => seqs(c, q).length === 2, 'live');
    const reply = await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name, partitions: [1, 3] });
    expect(reply).toMatchObject({ type: 'unsubscribed', partitions: [1], reason: 'requested' });
    await append(engine, q, 5, 1);
    await append(engine, q, 1, 2, 'marker');
    await c.until(() => seqs(c, q, 2).length === 1, 'marker on partition 2');
    expect(seqs(c, q, 1)).toEqual([1, 2]);
    const again = await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    expect(again).toMatchObject({ partitions: [2] });
    const none = await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    expect(none).toMatchObject({ type: 'unsubscribed', partitions: [] });
    // Resubscribing after an unsubscribe is allowed.
    expect((await c.request(sub({ partitions: [1] }))).type).toBe('subscribed');
  });

  it('sockets of one node share one engine subscription per partition, released by the last', async () => {
    const d = await WsTestClient.open(s.url, { key: shop.key, format: 'msgpack' });
    await c.request(sub({ partitions: [1, 2] }));
    await d.request(sub({ partitions: [2] }));
    expect(s.endpoint.stats().livePartitions).toBe(2);
    await append(engine, q, 3, 2);
    await c.until(() => seqs(c, q, 2).length === 3, 'json subscriber');
    await d.until(() => seqs(d, q, 2).length === 3, 'msgpack subscriber');
    expect(d.messages().map((m) => m.body)).toEqual(['m0', 'm1', 'm2']);
    await c.request({ type: 'unsubscribe', application: shop.name, queue: q.name });
    expect(s.endpoint.stats().livePartitions).toBe(1);
    await d.close();
    expect(s.endpoint.stats().livePartitions).toBe(0);
  });

  it('server shutdown closes every socket with 1001 shutting_down', async () => {
    await c.request(sub());
    await s.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'shutting_down' });
  });
});

describe('ws subscribe: engine resync when Redis restarts', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-ws-resync-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('live partitions get `resync` (engine), then every message exactly once', { timeout: 60_000 }, async () => {
    let redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'], dir });
    const prefix = freshPrefix('wsresync');
    const subscriberEngine = new RedisEngine({ url: redis.url, prefix });
    const producer = new RedisEngine({ url: redis.url, prefix });
    await subscriberEngine.start();
    await producer.start();
    const s = await startWsServer(subscriberEngine);
    const shop = await appWithKey(producer);
    const q = await queueOf(producer, shop.name, { partitions: 2 });
    const c = await WsTestClient.open(s.url, { key: shop.key });
    try {
      expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [1, 2] })).type).toBe('subscribed');
      await append(producer, q, 5, 1);
      await c.until(() => seqs(c, q).length === 5, 'before the restart');

      await redis.stop();
      redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'], dir, port: redis.port });
      // The producer appends as soon as it can: the subscriber's node may not be subscribed again yet.
      await until(() => producer.ready(), { what: 'the producer to reconnect' });
      await append(producer, q, 5, 1, 'after');
      await c.until(() => c.frames.some((f) => f.type === 'resync' && f.partition === 1), 'resync of partition 1');
      await c.until(() => seqs(c, q).length >= 10, 'every message');
      await append(producer, q, 2, 1, 'live');
      await c.until(() => seqs(c, q).length >= 12, 'live again');
      expect(seqs(c, q)).toEqual(range(1, 12));
      expect(c.frames.filter((f) => f.type === 'resync')).toEqual(
        expect.arrayContaining([
          { type: 'resync', application: shop.name, queue: q.name, partition: 1, reason: 'engine', recovered: true },
          { type: 'resync', application: shop.name, queue: q.name, partition: 2, reason: 'engine', recovered: true },
        ]),
      );
    } finally {
      await c.close();
      await s.close();
      await subscriberEngine.close();
      await producer.close();
      await redis.stop();
    }
  });
});
