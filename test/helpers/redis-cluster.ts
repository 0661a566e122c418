/**
 * A real local Redis Cluster for tests (STYLE.md example 10, issue 6), from the launcher the tests
 * share with the bench (bench/lib/redis-cluster.ts). The tests' default shape has a replica per
 * primary and a short node timeout, so that failover tests finish quickly.
 */
import { startRedisCluster as start, type RedisClusterHandle, type RedisClusterOptions } from '../../bench/lib/redis-cluster.js';

export type { RedisClusterHandle, RedisClusterOptions };

export function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  return start({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 2000, ...opts });
}
