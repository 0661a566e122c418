/**
 * The event log model test (test/integration/events-model.test.ts) once more, its two nodes on a
 * real Redis Cluster: each call queue's outbox lives in the queue's slot, the application's call
 * outbox in its own, the log in a third, and the relay joins them. As calls-model-cluster.test.ts
 * does, this file points the shared factory list at the cluster before importing the suite.
 */
import { afterAll, beforeAll } from 'vitest';
import { eventNodeFactories } from '../helpers/event-stores.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

let cluster: RedisClusterHandle | undefined;

const redis = eventNodeFactories.find((f) => f.name === 'redis')!;
eventNodeFactories.splice(0, eventNodeFactories.length, {
  name: 'redis',
  open: (opts = {}) => {
    if (cluster === undefined) throw new Error('the Redis Cluster is not running');
    return redis.open({ ...opts, url: cluster.url });
  },
});

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

await import('../integration/events-model.test.js');
