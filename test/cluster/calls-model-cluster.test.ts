/**
 * The call-queue positions model test (test/integration/calls-model.test.ts) once more, with both of
 * its store instances (two Holdline nodes) on a real Redis Cluster (issue 6): every call-queue
 * script stays in its queue's slot, and each node's follower is fed by sharded pub/sub from the
 * primary that owns the queue. As engine-conformance-cluster.test.ts does, this file points the
 * shared factory list at the cluster before importing the suite (test files are isolated modules).
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
    return RedisCallStore.open({
      url: cluster.url,
      prefix: opts.prefix ?? freshPrefix('ccalls'),
      ...(opts.changeRetention === undefined ? {} : { changeRetention: opts.changeRetention }),
    });
  },
});

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

await import('../integration/calls-model.test.js');
