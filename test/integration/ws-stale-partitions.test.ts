/**
 * WebSocket publish and history go through the same domain functions as REST posts and reads, so
 * they share REST's handling of a node-local metadata cache that predates a grow made through
 * another node (src/domain/queues/service.ts `inRange`): a partition beyond the cached count is
 * checked against the store before it is refused. Before issue 12 the WebSocket handlers checked
 * against the cached metadata only and refused it (partition_out_of_range).
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { freshPrefix } from '../helpers/namespace.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

describe('ws publish and history after a grow this node has not heard of (redis)', () => {
  let engine: RedisEngine;
  let redis: Redis;
  let s: WsServer;
  let prefix: string;

  beforeEach(async () => {
    prefix = freshPrefix('stale');
    redis = new Redis(inject('redisUrl'));
    // An hour-long metadata cache: the grow below reaches this node only through the store.
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000, metaCacheTtlMs: 3_600_000, indexReassertMs: 3_600_000 });
    await engine.start();
    s = await startWsServer(engine);
  });
  afterEach(async () => {
    await s.close();
    await engine.close();
    redis.disconnect();
  });

  it('uses the new partition, and still refuses one beyond what the store holds', async () => {
    const app = await appWithKey(engine);
    const queue = await queueOf(engine, app.name, { partitions: 1 });
    const c = await WsTestClient.open(s.url, { key: app.key });
    // Warms the node's cache with one partition.
    expect((await c.request({ type: 'publish', application: app.name, queue: queue.name, messages: [{ body: 'a', partition: 1 }] })).type).toBe('published');
    await redis.hset(new RedisKeys(prefix).queues(app.name), queue.name, JSON.stringify({ ...queue, partitions: 3 }));
    expect((await engine.getQueue(app.name, queue.name))!.partitions).toBe(1);

    const published = await c.request({ type: 'publish', application: app.name, queue: queue.name, messages: [{ body: 'to the new partition', partition: 3 }] });
    expect(published).toMatchObject({ type: 'published', messages: [{ partition: 3, seq: 1 }] });
    const history = await c.request({ type: 'history', application: app.name, queue: queue.name, partitions: [3] });
    expect(history).toMatchObject({ type: 'history.result', messages: [{ body: 'to the new partition', partition: 3 }] });

    const beyond = await c.request({ type: 'publish', application: app.name, queue: queue.name, messages: [{ body: 'x', partition: 4 }] });
    expect(beyond).toMatchObject({ type: 'error', error: { code: 'partition_out_of_range', field: 'messages[0].partition' } });
    await c.close();
  });
});
