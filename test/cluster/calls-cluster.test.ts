/**
 * The Redis call store's live feed on a real Redis Cluster (issue 6): call queues spread over the
 * shards, each node follows them over sharded pub/sub with one subscriber connection per primary;
 * a change is acknowledged only once a replica has it; and after a primary failover followers are
 * told to resync, catch up from their seq, and receive the next changes live from the promoted
 * replica, with no acknowledged change lost.
 *
 * The failover case used to hang about one run in three: the primary was killed a few ms after the
 * last writes, before its replica had them (asynchronous replication; just after a cluster forms a
 * replica can go most of a second without receiving the stream), so the promoted replica had no
 * such queue and every later join was refused, which the test retried forever. The store now WAITs
 * for a replica (calls.ts), and the test retries only engine_unavailable, with deadlines.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallQueueEvent, NewCallQueue } from '../../src/engine/call-types.js';
import { CallQueueFollower } from '../helpers/call-follower.js';
import { isHoldlineError } from '../../src/errors.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
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

  it("counts a queue's line by priority on every shard (waitingAtOrAbove, for the join estimate)", async () => {
    const prefix = freshPrefix('ccw');
    const [n1, n2] = [await store(prefix), await store(prefix)];
    const keys = new RedisKeys(prefix);
    const owners = new Set<number>();
    while (owners.size < 3) {
      const q = (await n1.createCallQueue(APP, QUEUE)).uuid;
      owners.add(await cluster.primaryOf(keys.callQueue(APP, q)[7]));
      for (const priority of [3, 0, 0, -2]) await n2.joinCaller(APP, q, { name: 'e', number: '1', priority });
      expect(await Promise.all([4, 3, 0, -2, -3].map((p) => n1.waitingAtOrAbove(APP, q, p)))).toEqual([0, 1, 3, 4, 4]);
    }
  });

  it('follows queues on every shard from two nodes, one subscriber connection per primary and node', async () => {
    const prefix = freshPrefix('ccl');
    const [n1, n2] = [await store(prefix), await store(prefix)];
    const keys = new RedisKeys(prefix);
    const queues: string[] = [];
    const owners = new Set<number>();
    // Enough queues to land on every primary.
    while (owners.size < 3) {
      const q = (await n1.createCallQueue(APP, QUEUE)).uuid;
      queues.push(q);
      owners.add(await cluster.primaryOf(keys.callQueue(APP, q)[7]));
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

  it('acknowledges a change only once a replica has it: a stalled replica makes it not_confirmed', async () => {
    const prefix = freshPrefix('ccl');
    const n1 = await RedisCallStore.open({ url: cluster.url, prefix, waitTimeoutMs: 300 });
    stores.push(n1);
    const queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    const key = new RedisKeys(prefix).callQueue(APP, queue)[0];
    await n1.joinCaller(APP, queue, { name: 'confirmed', number: '1', priority: 0 });
    // Stall the replica of the queue's primary (SIGSTOP, by PID): nothing can confirm the next join.
    const replica = cluster.node(await cluster.replicaOf(key));
    process.kill(replica.pid, 'SIGSTOP');
    try {
      await expect(n1.joinCaller(APP, queue, { name: 'unconfirmed', number: '1', priority: 0 })).rejects.toMatchObject({
        code: 'not_confirmed',
      });
    } finally {
      process.kill(replica.pid, 'SIGCONT');
    }
    // Not confirmed is not "not stored": the primary ran it.
    expect((await n1.snapshot(APP, queue)).callers.map((c) => c.name)).toEqual(['confirmed', 'unconfirmed']);
    await cluster.waitHealthy();
  });

  // Last: it changes the topology (one primary dies, its replica takes over).
  it('after a primary failover, followers resync, catch up from their seq and receive changes live again', { timeout: 180_000 }, async () => {
    const prefix = freshPrefix('ccl');
    const [n1, n2] = [await store(prefix), await store(prefix)];
    const queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    const channel = new RedisKeys(prefix).callQueue(APP, queue)[7];

    const followers = [n1, n2].map(() => ({ view: undefined as CallQueueFollower | undefined, events: [] as CallQueueEvent[] }));
    // Every pending wait is re-checked on each event; a step that never completes fails with its name.
    const waits = new Set<() => void>();
    const until = (what: string, pred: () => boolean, timeoutMs = 60_000): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waits.delete(check);
          reject(new Error(`timed out waiting for: ${what}`));
        }, timeoutMs);
        const check = (): void => {
          if (!pred()) return;
          clearTimeout(timer);
          waits.delete(check);
          resolve();
        };
        waits.add(check);
        check();
      });
    for (const [i, s] of [n1, n2].entries()) {
      const f = followers[i]!;
      await s.subscribeQueue(APP, queue, (e) => {
        f.events.push(e);
        if (e.type === 'change' && f.view !== undefined) f.view.apply(e.change);
        for (const check of [...waits]) check();
      });
      f.view = new CallQueueFollower(await s.snapshot(APP, queue));
    }
    // Acknowledged only once the replica has it (calls.ts): the failover below cannot lose it.
    await n1.joinCaller(APP, queue, { name: 'before', number: '1', priority: 0 });
    await until('both followers at seq 1', () => followers.every((f) => f.view!.seq === 1));

    await cluster.failover(channel);

    // Changes are accepted again once the nodes see the new topology: retried only while the
    // engine is unavailable (any other answer fails the test at once).
    const acked: number[] = [];
    await until('a resync on both followers', () => followers.every((f) => f.events.some((e) => e.type === 'resync')));
    for (let i = 0; i < 5; i++) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const joined = await n2.joinCaller(APP, queue, { name: `after${i}`, number: '1', priority: i }).catch((err: unknown) => {
          if (isHoldlineError(err) && err.code === 'engine_unavailable' && Date.now() < deadline) return null;
          throw err;
        });
        if (joined !== null) {
          acked.push(joined.change!.seq);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const snap = await n1.snapshot(APP, queue);
    expect(snap.callers.map((c) => c.name).sort()).toEqual(['after0', 'after1', 'after2', 'after3', 'after4', 'before']);
    expect(acked).toEqual([2, 3, 4, 5, 6]);
    for (const [i, s] of [n1, n2].entries()) {
      const f = followers[i]!;
      // At least one: a resync only says "catch up from your seq", so a second one (the topology
      // view changing twice while the cluster converges) would be harmless.
      expect(f.events.filter((e) => e.type === 'resync').length).toBeGreaterThanOrEqual(1);
      // The resync tells the follower to catch up from its seq: the changes log has the rest.
      for (const c of (await s.changesSince(APP, queue, f.view!.seq))!) expect(f.view!.apply(c)).toMatch(/applied|stale/);
      expect(f.view!.seq).toBe(snap.seq);
      expect(f.view!.orderedCallers()).toEqual(snap.callers);
    }
    // And the feed is live again, from the promoted replica.
    await n1.joinCaller(APP, queue, { name: 'live', number: '1', priority: 9 });
    await until('both followers at the live change', () => followers.every((f) => f.view!.seq === snap.seq + 1));
    for (const f of followers) expect(f.view!.waitingLine()[0]).toBe((await n2.snapshot(APP, queue)).callers[0]!.uuid);
  });
});
