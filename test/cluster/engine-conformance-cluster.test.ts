/**
 * The shared engine conformance suites (test/integration/engine-conformance-*.test.ts), run once
 * more against the Redis engine on a real Redis Cluster (issue 6). The suites build their cases from
 * `engineFactories` when they are imported, so this file points that list at the cluster first, then
 * imports every one of them; test files are isolated modules, so no other file sees the change.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { engineFactories } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

let cluster: RedisClusterHandle | undefined;

engineFactories.splice(0, engineFactories.length, {
  name: 'redis',
  create: async () => {
    if (cluster === undefined) throw new Error('the Redis Cluster is not running');
    const engine = new RedisEngine({ url: cluster.url, prefix: freshPrefix('ccl'), sweepIntervalMs: 60_000 });
    await engine.start();
    return engine;
  },
});

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

// Every suite there is, so a new one runs on the cluster too without being listed here.
const suites = new URL('../integration/', import.meta.url);
const files = readdirSync(suites).filter((f) => /^engine-conformance.*\.test\.ts$/.test(f)).sort();
if (files.length === 0) throw new Error('no engine conformance suite found');
for (const file of files) await import(new URL(file, suites).href);
