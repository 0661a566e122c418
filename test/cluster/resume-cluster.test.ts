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
import type { QueueMeta } from '../../src/engine/types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { WsTestClient, appWithKey, queueOf } from '../helpers/ws-client.js';
import { eventually, startNodes, stopNodes, type HoldlineNode } from './nodes.js';

const PARTITIONS = [1, 2, 3, 4] as const;
const NODES = 3;

interface Plan {
  producers: { node: number; ops: { partition: number; count: number }[] }[];
  reconnects: { at: number; node: number; drop: boolean }[];
  firstNode: number;
  format: WireFormat;
}

const nodeArb = fc.integer({ min: 0, max: NODES - 1 });
const planArb: fc.Arbitrary<Plan> = fc.record({
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

  async function runPlan(plan: Plan): Promise<void> {
    const shop = await appWithKey(nodes[0]!.engine);
    const q: QueueMeta = await queueOf(nodes[0]!.engine, shop.name, { partitions: PARTITIONS.length, consistency: 'strong' });
    const keys = new RedisKeys(prefix);
    shards.push(new Set(await Promise.all(PARTITIONS.map((p) => cluster.primaryOf(keys.partition({ app: shop.name, queue: q.name, partition: p }).ids)))).size);
    const seeds = await nodes[0]!.engine.append(q, PARTITIONS.map((partition) => ({ body: 'seed', ttl: 3600, partition })));
    const acked = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
    const processed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
    const last = new Map<number, string>(seeds.map((m) => [m.partition, m.id]));

    const producers = await Promise.all(plan.producers.map((p) => WsTestClient.open(nodes[p.node]!.url, { key: shop.key })));
    const produce = Promise.all(
      plan.producers.map(async (p, i) => {
        for (const op of p.ops) {
          const reply = await producers[i]!.request({
            type: 'publish',
            application: shop.name,
            queue: q.name,
            messages: Array.from({ length: op.count }, (_, k) => ({ body: `p${i}-${k}`, partition: op.partition })),
          });
          if (reply.type !== 'published') throw new Error(`publish failed: ${JSON.stringify(reply)}`);
          for (const m of reply.messages) acked.get(m.partition)!.push(m.message_id);
        }
      }),
    );

    const absorb = (c: WsTestClient, from: number): number => {
      const frames = c.frames.slice(from);
      for (const f of frames) {
        if (f.type !== 'message' || f.queue !== q.name) continue;
        processed.get(f.partition)!.push(f.message_id);
        last.set(f.partition, f.message_id);
      }
      return from + frames.length;
    };
    const total = (): number => [...processed.values()].reduce((n, l) => n + l.length, 0);
    const connect = async (node: number): Promise<WsTestClient> => {
      const c = await WsTestClient.open(nodes[node]!.url, { key: shop.key, format: plan.format });
      const reply = await c.request({
        type: 'subscribe',
        application: shop.name,
        queue: q.name,
        after: Object.fromEntries([...last].map(([p, id]) => [String(p), id])),
      });
      if (reply.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
      expect(reply.partitions.every((p) => p.recovered)).toBe(true);
      return c;
    };

    let sub = await connect(plan.firstNode);
    let producing = true;
    const stopped = (): void => {
      producing = false;
      sub.poke();
    };
    void produce.then(stopped, stopped);
    let seen = 0;
    for (const r of [...plan.reconnects].sort((a, b) => a.at - b.at)) {
      await sub.until(() => {
        seen = absorb(sub, seen);
        return total() >= r.at || !producing;
      }, `${r.at} messages processed`, 20_000);
      seen = absorb(sub, seen);
      if (r.drop) sub.terminate();
      else await sub.close();
      sub = await connect(r.node);
      seen = 0;
    }
    await produce;
    // Ids grow within a partition, so the largest acked id is the last one stored.
    const done = (): boolean => PARTITIONS.every((p) => acked.get(p)!.length === 0 || last.get(p) === [...acked.get(p)!].sort().at(-1));
    await sub.until(() => {
      seen = absorb(sub, seen);
      return done();
    }, 'every published message', 20_000);
    seen = absorb(sub, seen);
    for (const p of PARTITIONS) expect(processed.get(p), `partition ${p}`).toEqual([...acked.get(p)!].sort());
    expect(sub.undecodable).toEqual([]);
    await sub.close();
    for (const c of producers) await c.close();
  }

  it('a subscriber resuming on any node processes every acknowledged message exactly once, in order', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(planArb, runPlan), { numRuns: 20 });
    // The queues' partitions really were spread over shards.
    expect(Math.max(...shards)).toBeGreaterThan(1);
  });
});
