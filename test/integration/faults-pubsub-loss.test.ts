/**
 * Live announcements lost in transit (issue 6, faults).
 *
 * 1. The node's Redis subscriber connection is cut (CLIENT KILL) while another node appends: the
 *    announcements published meanwhile never reach this node. The engine resubscribes and says
 *    `resync`; the WebSocket subscriber gets a `resync` frame and then every message once, in order.
 * 2. One announcement vanishes with no connection event at all (a message lost in transit, which
 *    Centrifugo guards against with a per-channel sequence check). Simulated by an engine whose
 *    live feed drops one message; storage has it. The SDK notices the seq jump and re-reads the
 *    hole from history; the server repairs it too (src/server/ws/feed-hub.ts, FeedHub.flush: a live seq
 *    hole resyncs the partition from storage), so a raw protocol client also gets every message once.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { HoldlineClient, type MessageFrame } from '../../src/client/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { Engine, PartitionListener, PartitionRef, QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { WsTestClient, appWithKey, queueOf, startWsServer, type WsServer } from '../helpers/ws-client.js';
import { until } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function redisEngine(url: string, prefix: string): Promise<RedisEngine> {
  const engine = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000 });
  await engine.start();
  cleanups.push(() => engine.close());
  return engine;
}

async function serve(engine: Engine): Promise<WsServer> {
  const ws = await startWsServer(engine);
  cleanups.push(() => ws.close());
  return ws;
}

async function append(engine: Engine, q: QueueMeta, bodies: string[]): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (const body of bodies) out.push(...(await engine.append(q, [{ body, partition: 1, ttl: 3600 }])));
  return out;
}

const bodies = (label: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${label}${i}`);

describe('a node\'s Redis subscriber connection cut while another node appends', () => {
  // Its own server: killing pub/sub clients must not disturb other test files' subscribers.
  let redis: RedisServerHandle;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.port, '127.0.0.1');
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('the subscriber gets a resync frame, then every message exactly once, in order', async () => {
    const prefix = freshPrefix('loss');
    const [subscriberSide, producer] = [await redisEngine(redis.url, prefix), await redisEngine(redis.url, prefix)];
    const ws = await serve(subscriberSide);
    const shop = await appWithKey(producer);
    const q = await queueOf(producer, shop.name);
    const c = await WsTestClient.open(ws.url, { key: shop.key });
    cleanups.push(() => c.close());
    expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name })).type).toBe('subscribed');

    const sent = await append(producer, q, bodies('before', 5));
    await c.until(() => c.messages().length === 5, 'live before the cut');
    // Cut every subscriber connection, then append at once: this node cannot be subscribed again
    // before its reconnect delay, so these announcements are lost to it in transit.
    await admin.client('KILL', 'TYPE', 'pubsub');
    sent.push(...(await append(producer, q, bodies('cut', 5))));
    await c.until(() => c.frames.some((f) => f.type === 'resync' && f.reason === 'engine'), 'resync frame');
    sent.push(...(await append(producer, q, bodies('after', 5))));
    await c.until(() => c.messages().length >= 15, 'every message');
    expect(c.messages().map((m) => m.message_id)).toEqual(sent.map((m) => m.id));
  });
});

/** The engine, except that its live feed never delivers messages whose body is `lost` (storage has them). */
function lossyFeed(engine: Engine): Engine {
  const subscribe = (ref: PartitionRef, listener: PartitionListener) =>
    engine.subscribe(ref, (event) => {
      if (event.type === 'message' && event.message.body === 'lost') return;
      listener(event);
    });
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'subscribe') return subscribe;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('one live announcement lost without any connection event', () => {
  async function setup(): Promise<{ engine: Engine; ws: WsServer; shop: { name: string; key: string }; q: QueueMeta }> {
    const real = await redisEngine(inject('redisUrl'), freshPrefix('hole'));
    const engine = lossyFeed(real);
    const ws = await serve(engine);
    const shop = await appWithKey(real);
    const q = await queueOf(real, shop.name);
    return { engine, ws, shop, q };
  }

  it('the SDK sees the seq jump and fills the hole from history: every message once, in order', async () => {
    const { engine, ws, shop, q } = await setup();
    const client = new HoldlineClient({ urls: ws.url.replace(/^http/, 'ws'), key: shop.key });
    cleanups.push(() => client.close());
    const got: MessageFrame[] = [];
    const sub = client.subscribe(shop.name, q.name, {}, (m) => got.push(m));
    await sub.ready;
    const sent = await append(engine, q, [...bodies('a', 3), 'lost', ...bodies('b', 3)]);
    await until(() => got.length >= sent.length, { what: 'every message' });
    expect(got.map((m) => m.message_id)).toEqual(sent.map((m) => m.id));
  });

  // Known gap (reported): Hub.publish puts a message whose seq is not lastSeq + 1 on the topic as
  // is. It should first treat the jump like an engine resync (live sockets leave the topic at the
  // last seq before the hole and catch up from storage). Flip to it() once it does.
  it('a raw protocol subscriber gets every message once, in order (the server repairs the hole)', async () => {
    const { engine, ws, shop, q } = await setup();
    const c = await WsTestClient.open(ws.url, { key: shop.key });
    cleanups.push(() => c.close());
    expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name })).type).toBe('subscribed');
    const sent = await append(engine, q, [...bodies('a', 3), 'lost', ...bodies('b', 3)]);
    await c.until(() => c.messages().at(-1)?.message_id === sent.at(-1)!.id, 'the last message');
    expect(c.messages().map((m) => m.message_id)).toEqual(sent.map((m) => m.id));
  });
});
