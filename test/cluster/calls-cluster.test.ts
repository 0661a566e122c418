/**
 * The Redis call store's live feed on a real Redis Cluster (issue 6): call queues spread over the
 * shards, each node follows them over sharded pub/sub with one subscriber connection per primary,
 * and after a primary failover followers are told to resync, catch up from their seq, and receive
 * the next changes live from the promoted replica.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallQueueEvent, NewCallQueue } from '../../src/engine/call-types.js';
import { CallQueueView } from '../../src/domain/calls/view.js';
import { CallKeys } from '../../src/engine/redis/calls-keys.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { Follower } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

const APP = 'acme';
const QUEUE: NewCallQueue = { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 };

/** Connections named `name` on each node, by port. */
async function namedConnections(ports: number[], name: string): Promise<number[]> {
  return Promise.all(
    ports.map(async (port) => {
      const r = new Redis(port, '127.0.0.1');
      try {
        const list = (await r.client('LIST')) as string;
        return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
      } finally {
        r.disconnect();
      }
    }),
  );
}

describe('Redis call store on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const stores: RedisCallStore[] = [];

  async function store(prefix: string): Promise<RedisCallStore> {
    const s = await RedisCallStore.open({ url: cluster.url, prefix });
    stores.push(s);
    return s;
  }

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const s of stores.splice(0)) await s.close();
    await cluster?.stop();
  });

  it('follows queues on every shard from two nodes, one subscriber connection per primary and node', async () => {
    const prefix = freshPrefix('ccl');
    const [n1, n2] = [await store(prefix), await store(prefix)];
    const keys = new CallKeys(prefix);
    const queues: string[] = [];
    const owners = new Set<number>();
    // Enough queues to land on every primary.
    while (owners.size < 3) {
      const q = (await n1.createCallQueue(APP, QUEUE)).uuid;
      queues.push(q);
      owners.add(await cluster.primaryOf(keys.queue(APP, q)[7]));
    }
    const followers = await Promise.all(queues.flatMap((q) => [Follower.start(n1, APP, q), Follower.start(n2, APP, q)]));
    expect(await namedConnections(await cluster.primaryPorts(), 'holdline-calls-sub')).toEqual([2, 2, 2]);

    // Joins from both nodes, on every queue at once.
    await Promise.all(
      queues.flatMap((q, i) => [0, 1, 2, 3].map((k) => (k % 2 ? n1 : n2).joinCaller(APP, q, { name: `c${k}`, number: '1', priority: (i + k) % 3 }))),
    );
    for (const [i, q] of queues.entries()) {
      const snap = await n1.snapshot(APP, q);
      expect(snap.seq).toBe(4);
      for (const f of followers.slice(2 * i, 2 * i + 2)) {
        await f.waitFor(4);
        expect(f.problems).toEqual([]);
        expect(f.view.orderedCallers()).toEqual(snap.callers);
      }
    }
    await Promise.all(followers.map((f) => f.stop()));
  });

  // Last: it changes the topology (one primary dies, its replica takes over).
  // SKIPPED, a known bug (issue 6, open): this hangs about one run in three, even alone on a quiet
  // machine and also before the subscriber's reconcile retry was added. Some step of the call store's
  // failover never completes (a follower's resync, or joins accepted again). Kept here so the fix
  // turns it back on; message-queue failover is covered by failover-cluster.test.ts.
  it.skip('after a primary failover, followers resync, catch up from their seq and receive changes live again', async () => {
    const prefix = freshPrefix('ccl');
    const [n1, n2] = [await store(prefix), await store(prefix)];
    const queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    const channel = new CallKeys(prefix).queue(APP, queue)[7];

    const followers = [n1, n2].map(() => ({ view: undefined as CallQueueView | undefined, events: [] as CallQueueEvent[] }));
    let wake: () => void = () => undefined;
    const until = (pred: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        wake = () => {
          if (pred()) resolve();
        };
        wake();
      });
    for (const [i, s] of [n1, n2].entries()) {
      const f = followers[i]!;
      await s.subscribeQueue(APP, queue, (e) => {
        f.events.push(e);
        if (e.type === 'change' && f.view !== undefined) f.view.apply(e.change);
        wake();
      });
      f.view = new CallQueueView(await s.snapshot(APP, queue));
    }
    await n1.joinCaller(APP, queue, { name: 'before', number: '1', priority: 0 });
    await until(() => followers.every((f) => f.view!.seq === 1));

    await cluster.failover(channel);

    // Changes are accepted again once the nodes see the new topology (retried only while unavailable).
    const acked: number[] = [];
    await until(() => followers.every((f) => f.events.some((e) => e.type === 'resync')));
    for (let i = 0; i < 5; i++) {
      for (;;) {
        const joined = await n2.joinCaller(APP, queue, { name: `after${i}`, number: '1', priority: i }).catch(() => null);
        if (joined !== null) {
          acked.push(joined.change!.seq);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const snap = await n1.snapshot(APP, queue);
    expect(snap.callers.map((c) => c.name).sort()).toEqual(['after0', 'after1', 'after2', 'after3', 'after4', 'before']);
    for (const [i, s] of [n1, n2].entries()) {
      const f = followers[i]!;
      expect(f.events.filter((e) => e.type === 'resync')).toHaveLength(1);
      // The resync tells the follower to catch up from its seq: the changes log has the rest.
      for (const c of (await s.changesSince(APP, queue, f.view!.seq))!) expect(f.view!.apply(c)).toMatch(/applied|stale/);
      expect(f.view!.seq).toBe(snap.seq);
      expect(f.view!.orderedCallers()).toEqual(snap.callers);
    }
    // And the feed is live again, from the promoted replica.
    await n1.joinCaller(APP, queue, { name: 'live', number: '1', priority: 9 });
    await until(() => followers.every((f) => f.view!.seq === snap.seq + 1));
    for (const f of followers) expect(f.view!.waitingLine()[0]).toBe((await n2.snapshot(APP, queue)).callers[0]!.uuid);
    expect(acked).toEqual([2, 3, 4, 5, 6]);
  });
});
