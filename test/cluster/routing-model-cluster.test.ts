/**
 * test/integration/routing-model.test.ts once more with its Redis stores (two Holdline nodes where it makes
 * two) on a real Redis Cluster: every route-*-12.lua script in its call queue's slot, the agents'
 * engagements in their application's slot, the due index and notices in their own, so the
 * cross-slot engagement protocol of protocol/routing.md section 5 runs across shards. As
 * calls-model-cluster.test.ts does, the shared factory list points at the cluster before the suite
 * is imported.
 */
import { afterAll, beforeAll } from 'vitest';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

let cluster: RedisClusterHandle | undefined;

callStoreFactories.splice(0, callStoreFactories.length, {
  name: 'redis',
  open: (opts = {}) => {
    if (cluster === undefined) throw new Error('the Redis Cluster is not running');
    return RedisCallStore.open({ url: cluster.url, prefix: opts.prefix ?? freshPrefix('croute') });
  },
});

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

await import('../integration/routing-model.test.js');
