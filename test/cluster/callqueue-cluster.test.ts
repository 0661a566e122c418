/**
 * Call-queue positions on three Holdline nodes sharing a real Redis Cluster: random joins, leaves
 * and priority changes, issued concurrently through REST on random nodes. After every batch, a
 * plain model, GET /v1/queues/{id}/callers on each node, an SDK CallQueueView connected to each
 * node (callqueue.subscribe over WebSocket), and a follower per node built only from its node's
 * store change feed (sharded pub/sub) agree on every waiting caller's exact position.
 *
 * The model learns the order the store serialised a batch in from the changes' seqs, as
 * test/integration/calls-model.test.ts does: concurrent joins of equal priority may land either way.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldlineClient, type CallQueueView } from '../../src/client/index.js';
import type { CallQueueEvent } from '../../src/engine/call-types.js';
import { Follower } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { call } from '../helpers/server.js';
import { startNodes, stopNodes, type HoldlineNode } from './nodes.js';

const NODES = 3;

type Op =
  | { kind: 'join'; node: number; priority: number }
  | { kind: 'leave'; node: number; pick: number }
  | { kind: 'priority'; node: number; pick: number; priority: number };

const node = fc.integer({ min: 0, max: NODES - 1 });
const priority = fc.integer({ min: 0, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), node, priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), node, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('priority' as const), node, pick: fc.nat(), priority }) },
);
const runArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 });

interface ModelCaller {
  priority: number;
  /** Seq of its join (the store's join order), learned from the change feed. */
  joined: number;
}

/** Resolves once the view has applied the change with this seq (or a later one). */
function reached(view: CallQueueView, seq: number): Promise<void> {
  if ((view.seq ?? 0) >= seq) return Promise.resolve();
  return new Promise((resolve) => {
    const off = view.on('change', () => {
      if ((view.seq ?? 0) < seq) return;
      off();
      resolve();
    });
  });
}

describe('call-queue positions on three nodes on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let nodes: HoldlineNode[] = [];
  let key: string;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    nodes = await startNodes(NODES, cluster.url, freshPrefix('clcalls'));
    key = (await nodes[0]!.server.createApp()).key;
  }, 60_000);
  afterAll(async () => {
    await stopNodes(nodes);
    await cluster?.stop();
  });

  async function runBatches(batches: Op[][]): Promise<void> {
    const s0 = nodes[0]!.server;
    const created = await call(s0, key, 'POST', '/v1/queues', { name: 'support' });
    expect(created.status).toBe(201);
    const queue = created.body.uuid as string;
    const app = (await nodes[0]!.engine.appForKey(key))!;

    const joinedAt = new Map<string, number>();
    const unsubscribe = await nodes[0]!.calls.subscribeQueue(app, queue, (e: CallQueueEvent) => {
      if (e.type === 'change' && e.change.kind === 'caller_joined') joinedAt.set(e.change.caller.uuid, e.change.seq);
    });
    const followers = await Promise.all(nodes.map((n) => Follower.start(n.calls, app, queue)));
    const clients = nodes.map((n) => new HoldlineClient({ urls: n.url.replace(/^http/, 'ws'), key }));
    const views: CallQueueView[] = clients.map((c) => c.callQueue(queue));
    await Promise.all(views.map((v) => v.ready));
    const model = new Map<string, ModelCaller>();
    let seq = 0;

    try {
      for (const batch of batches) {
        const used = new Set<string>();
        const requests = batch.map((op) => {
          const s = nodes[op.node]!.server;
          const free = [...model.keys()].filter((u) => !used.has(u));
          if (op.kind === 'join' || free.length === 0) {
            const p = op.kind === 'join' ? op.priority : 0;
            return async () => {
              const r = await call(s, key, 'POST', `/v1/queues/${queue}/callers`, { name: 'c', number: '6135550000', priority: p });
              expect(r.status).toBe(201);
              return () => model.set(r.body.uuid as string, { priority: p, joined: -1 });
            };
          }
          const uuid = free[op.pick % free.length]!;
          used.add(uuid);
          if (op.kind === 'leave') {
            return async () => {
              expect((await call(s, key, 'DELETE', `/v1/queues/${queue}/callers/${uuid}?reason=answered`)).status).toBe(204);
              return () => model.delete(uuid);
            };
          }
          // A real change of priority, so that every operation makes exactly one change.
          const p = op.priority === model.get(uuid)!.priority ? op.priority + 1 : op.priority;
          return async () => {
            const r = await call(s, key, 'PUT', `/v1/queues/${queue}/callers/${uuid}`, { priority: p });
            expect(r.status).toBe(200);
            return () => (model.get(uuid)!.priority = p);
          };
        });
        const applies = await Promise.all(requests.map((run) => run()));
        for (const apply of applies) apply();
        seq += batch.length;

        for (const f of followers) {
          await f.waitFor(seq);
          expect(f.problems).toEqual([]);
        }
        for (const [uuid, c] of model) if (c.joined < 0) c.joined = joinedAt.get(uuid)!;
        const line = [...model.entries()]
          .sort(([, a], [, b]) => b.priority - a.priority || a.joined - b.joined)
          .map(([uuid]) => uuid);
        for (const n of nodes) {
          const listed = await call(n.server, key, 'GET', `/v1/queues/${queue}/callers`);
          expect(listed.status).toBe(200);
          expect((listed.body as { uuid: string; position: number }[]).map((c) => [c.uuid, c.position])).toEqual(line.map((u, i) => [u, i]));
        }
        for (const f of followers) {
          expect(f.view.seq).toBe(seq);
          expect(f.view.waitingLine()).toEqual(line);
        }
        for (const v of views) {
          await reached(v, seq);
          expect(v.waiting.map((c) => [c.uuid, c.position])).toEqual(line.map((u, i) => [u, i]));
        }
      }
    } finally {
      await unsubscribe();
      await Promise.all(followers.map((f) => f.stop()));
      await Promise.all(clients.map((c) => c.close()));
    }
  }

  it('REST, an SDK view and the change feed on every node agree with the model after every concurrent batch', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(runArb, runBatches), { numRuns: 15 });
  });
});
