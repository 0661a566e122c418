/**
 * The no-gap, no-duplicate guarantee (protocol/websocket.md 4.2) as one run of a random plan over
 * several Holdline nodes sharing one Redis (or Redis Cluster): producers publish on their nodes
 * while a subscriber disconnects at given points (cleanly or by dropping TCP) and resumes on a
 * given node with `after` = the last message it processed per partition. Asserts that what it
 * processed per partition is exactly the acknowledged sequence: every acked message once, in order.
 *
 * Shared by test/integration/ws-resume-property.test.ts (`holdline serve` processes, one Redis) and
 * test/cluster/resume-cluster.test.ts (in-process nodes, Redis Cluster); each draws its own plans.
 */
import { expect } from 'vitest';
import type { WireFormat } from '../../src/codec/index.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { WsTestClient, appWithKey, queueOf } from './ws-client.js';

export interface ResumePlan {
  /** Each producer publishes its ops in order on node `node`, all producers at once. */
  producers: { node: number; ops: { partition: number; count: number }[] }[];
  reconnects: {
    /** Disconnect once this many messages (of all partitions) have been processed in total. */
    at: number;
    node: number;
    /** Drop TCP instead of a clean close. */
    drop: boolean;
  }[];
  firstNode: number;
  format: WireFormat;
}

export interface ResumeSetup {
  /** The test's own view of the nodes' namespace: applications, queues, seeds. */
  engine: Engine;
  /** The nodes' base URLs (http://host:port), indexed by the plan's node numbers. */
  urls: readonly string[];
  partitions: readonly number[];
  /** Queue settings beyond the partition count (e.g. consistency). */
  queue?: Partial<QueueMeta>;
  /** Sees each run's queue before anything is published (e.g. to note where it is stored). */
  onQueue?(queue: QueueMeta): void | Promise<void>;
}

/** Runs one plan; rejects (an assertion or wait failure) when the subscriber misses or repeats a message. */
export async function runResumePlan(setup: ResumeSetup, plan: ResumePlan): Promise<void> {
  const { engine, urls, partitions } = setup;
  const shop = await appWithKey(engine);
  const q: QueueMeta = await queueOf(engine, shop.name, { ...setup.queue, partitions: partitions.length });
  await setup.onQueue?.(q);
  // A first message per partition, which the subscriber "already has": every resume uses `after`.
  const seeds = await engine.append(q, partitions.map((partition) => ({ body: 'seed', ttl: 3600, partition })));
  const acked = new Map<number, string[]>(partitions.map((p) => [p, []]));
  const processed = new Map<number, string[]>(partitions.map((p) => [p, []]));
  const last = new Map<number, string>(seeds.map((m) => [m.partition, m.id]));

  const producers = await Promise.all(plan.producers.map((p) => WsTestClient.open(urls[p.node]!, { key: shop.key })));
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

  /** Takes what a connection delivered (from frame index `from`) as processed; returns the new index. */
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
    const c = await WsTestClient.open(urls[node]!, { key: shop.key, format: plan.format });
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
    // Wait for the point (or for production to end, when fewer messages exist than `at`).
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
  const done = (): boolean => partitions.every((p) => acked.get(p)!.length === 0 || last.get(p) === [...acked.get(p)!].sort().at(-1));
  await sub.until(() => {
    seen = absorb(sub, seen);
    return done();
  }, 'every published message', 20_000);
  seen = absorb(sub, seen);

  for (const p of partitions) expect(processed.get(p), `partition ${p}`).toEqual([...acked.get(p)!].sort());
  expect(sub.undecodable).toEqual([]);
  await sub.close();
  for (const c of producers) await c.close();
}
