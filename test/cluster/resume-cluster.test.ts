/**
 * The no-gap, no-duplicate guarantee (protocol/websocket.md 4.2) on three Holdline nodes sharing a
 * real Redis Cluster (3 primaries + 3 replicas): producers on different nodes publish at `strong`
 * (enforced: every primary has a replica) to partitions spread over the shards, while a subscriber
 * disconnects at random points (cleanly or by dropping TCP) and resumes on a random node with
 * `after` = the last message it processed per partition. What it processed per partition is
 * exactly the acknowledged sequence. Also: /v1/capabilities on the cluster.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireFormat } from '../../src/codec/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { runResumePlan, type ResumePlan } from '../helpers/resume-plan.js';
import { eventually, startNodes, stopNodes, type HoldlineNode } from './nodes.js';

const PARTITIONS = [1, 2, 3, 4] as const;
const NODES = 3;

const nodeArb = fc.integer({ min: 0, max: NODES - 1 });
const planArb: fc.Arbitrary<ResumePlan> = fc.record({
  producers: fc.array(
    fc.record({
      node: nodeArb,
      ops: fc.array(fc.record({ partition: fc.constantFrom(...PARTITIONS), count: fc.integer({ min: 1, max: 12 }) }), { minLength: 1, maxLength: 8 }),
    }),
    { minLength: 2, maxLength: 3 },
  ),
  reconnects: fc.array(fc.record({ at: fc.integer({ min: 0, max: 250 }), node: nodeArb, drop: fc.boolean() }), { maxLength: 5 }),
  firstNode: nodeArb,
  format: fc.constantFrom<WireFormat>('json', 'msgpack'),
});

describe('three Holdline nodes on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let nodes: HoldlineNode[] = [];
  const prefix = freshPrefix('clnodes');
  /** How many shards each run's queue spans. */
  const shards: number[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    nodes = await startNodes(NODES, cluster.url, prefix, { limits: { historyPageSize: 20 } });
    // Strong is enforced once each node has counted every primary's replica.
    await eventually(() => nodes.every((n) => n.engine.capabilities.consistency.strong), 'replicas counted');
  }, 60_000);
  afterAll(async () => {
    await stopNodes(nodes);
    await cluster?.stop();
  });

  it('reports the cluster and enforced replica consistency in /v1/capabilities', async () => {
    for (const n of nodes) {
      const res = await n.server.request('/v1/capabilities');
      const body = (await res.json()) as { engine: Record<string, unknown> };
      expect(body.engine).toEqual({
        kind: 'redis',
        persistence: true,
        multi_node: true,
        cluster: true,
        'consistency.weak': true,
        'consistency.strong': true,
        'consistency.very_strong': true,
      });
    }
  });

  const runPlan = (plan: ResumePlan): Promise<void> =>
    runResumePlan(
      {
        engine: nodes[0]!.engine,
        urls: nodes.map((n) => n.url),
        partitions: PARTITIONS,
        queue: { consistency: 'strong' },
        async onQueue(q) {
          const keys = new RedisKeys(prefix);
          const primaries = await Promise.all(PARTITIONS.map((p) => cluster.primaryOf(keys.partition({ app: q.application, queue: q.name, partition: p }).ids)));
          shards.push(new Set(primaries).size);
        },
      },
      plan,
    );

  it('a subscriber resuming on any node processes every acknowledged message exactly once, in order', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(planArb, runPlan), { numRuns: 20 });
    // The queues' partitions really were spread over shards.
    expect(Math.max(...shards)).toBeGreaterThan(1);
  });
});
