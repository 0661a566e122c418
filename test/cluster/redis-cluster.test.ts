/**
 * The Redis engine on a real Redis Cluster (issue 6): 3 primaries + 3 replicas started by
 * test/helpers/redis-cluster.ts. Partitions spread over the shards, every script and live channel
 * stays in its partition's slot (Redis itself would refuse otherwise: CROSSSLOT, or a script
 * touching a key of another slot), two engines fan out to each other over sharded pub/sub, strong
 * writes are confirmed by the shard's replica, expiry reclamation works across shards, and a
 * primary failover leads to a resync and resumed service without losing strong writes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { keySlot } from '../../src/engine/redis/slot.js';
import type { PartitionEvent, QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { freshQueue, ids, msg, Recorder, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

const all = { limit: 1000, order: 'ascending' } as const;

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 50));
}

describe('redis engine on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const engines: RedisEngine[] = [];

  async function engine(prefix: string, extra: { sweepIntervalMs?: number } = {}): Promise<RedisEngine> {
    const e = new RedisEngine({ url: cluster.url, prefix, replicaRefreshMs: 200, waitTimeoutMs: 1000, ...extra });
    engines.push(e);
    await e.start();
    return e;
  }

  /** The port of the primary serving a slot now. */
  async function ownerOfSlot(slot: number): Promise<number> {
    const ports = await cluster.primaryPorts();
    const node = new Redis(ports[0]!, '127.0.0.1');
    try {
      const slots = await node.cluster('SLOTS');
      return slots.find(([lo, hi]) => slot >= lo && slot <= hi)![2]![1];
    } finally {
      node.disconnect();
    }
  }

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const e of engines.splice(0)) await e.close();
    await cluster?.stop();
  });

  it('spreads partitions over every primary and serves the whole message API', async () => {
    const e = await engine(freshPrefix('cl'));
    const queue = await freshQueue(e, 30);
    const stored = await e.append(queue, Array.from({ length: 90 }, (_, i) => msg(i % 7 === 0 ? new Uint8Array([i, 0, 255]) : `m${i}`, 1 + (i % 30))));
    const primaries = await cluster.primaryPorts();
    expect(primaries).toHaveLength(3);
    for (let p = 1; p <= 30; p++) {
      const expected = stored.filter((m) => m.partition === p);
      expect(await e.read(ref(queue, p), all)).toEqual(expected);
      expect(await e.read(ref(queue, p), { since: { kind: 'id', id: expected[1]!.id }, limit: 10, order: 'descending' })).toEqual([expected[1], expected[0]]);
      expect(await e.count(ref(queue, p))).toBe(3);
    }
    const first = stored[0]!;
    const updated = await e.updateMessage(ref(queue, 1), first.id, { clientJson: { ok: true }, ttl: 60 });
    expect(updated).toMatchObject({ id: first.id, clientJson: { ok: true }, ttl: 60 });
    expect(await e.deleteMessages(ref(queue, 1), [first.id, stored[30]!.id])).toBe(2);
    expect(await e.count(ref(queue, 1))).toBe(1);
    expect((await e.listQueues(queue.application, { limit: 10 })).map((q) => q.name)).toEqual([queue.name]);
    expect(await e.deleteApp(queue.application)).toBe(true);
    expect(await e.read(ref(queue, 2), all)).toEqual([]);
  });

  it('keeps each partition in one slot, as Redis computes it, spread over all the shards', async () => {
    const prefix = freshPrefix('cl');
    const e = await engine(prefix);
    const queue = await freshQueue(e, 12, { name: 'odd:{name}' });
    await e.append(queue, Array.from({ length: 12 }, (_, i) => msg(`m${i}`, i + 1)));
    const keys = new RedisKeys(prefix);
    const node = new Redis(cluster.nodes[0]!.port, '127.0.0.1');
    try {
      const owners = new Set<number>();
      for (let p = 1; p <= 12; p++) {
        const k = keys.partition(ref(queue, p));
        const slots = await Promise.all([k.ids, k.msg, k.exp, k.state, k.channel].map((key) => node.cluster('KEYSLOT', key)));
        expect(new Set(slots).size).toBe(1);
        expect(keySlot(k.ids)).toBe(slots[0]);
        owners.add(await ownerOfSlot(slots[0] as number));
      }
      expect(owners.size).toBe(3);
      const meta = [keys.apps, keys.keyHashes, keys.appKeys(queue.application), keys.queues(queue.application), keys.queueNames(queue.application)];
      expect(new Set(await Promise.all(meta.map((key) => node.cluster('KEYSLOT', key)))).size).toBe(1);
    } finally {
      node.disconnect();
    }
  });

  it('fans out between two engines over sharded pub/sub, in order, on every shard', async () => {
    const prefix = freshPrefix('cl');
    const a = await engine(prefix);
    const b = await engine(prefix);
    const queue = await freshQueue(a, 9);
    const recorders = Array.from({ length: 9 }, () => new Recorder());
    for (let p = 1; p <= 9; p++) await b.subscribe(ref(queue, p), recorders[p - 1]!.listener);
    const acked = (await Promise.all(Array.from({ length: 90 }, (_, i) => (i % 2 ? a : b).append(queue, [msg(`m${i}`, 1 + (i % 9))])))).flat();
    for (let p = 1; p <= 9; p++) {
      const rec = recorders[p - 1]!;
      await rec.waitFor(10);
      const history = await a.read(ref(queue, p), all);
      expect(rec.ids()).toEqual(ids(history));
      expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    }
    expect(acked).toHaveLength(90);
  });

  it('confirms strong writes on the shard replica', async () => {
    const e = await engine(freshPrefix('cl'));
    await until(() => e.capabilities.consistency.strong);
    expect(e.capabilities.consistency).toEqual({ weak: true, strong: true, very_strong: true });
    const queue = await freshQueue(e, 6, { consistency: 'strong' });
    const stored = await e.append(queue, Array.from({ length: 6 }, (_, i) => msg(`s${i}`, i + 1)));
    const veryStrong = await e.append({ ...queue, consistency: 'very_strong' }, Array.from({ length: 6 }, (_, i) => msg(`v${i}`, i + 1)));
    expect(stored).toHaveLength(6);
    expect(veryStrong).toHaveLength(6);
  });

  it('reclaims expired messages on every shard through the one expiry index', async () => {
    const e = await engine(freshPrefix('cl'), { sweepIntervalMs: 60_000 });
    const queue = await freshQueue(e, 9);
    const out = await e.append(queue, Array.from({ length: 27 }, (_, i) => msg(`t${i}`, 1 + (i % 9), 1)));
    const [kept] = await e.append(queue, [msg('kept', 5, 3600)]);
    await new Promise((r) => setTimeout(r, Math.max(...out.map((m) => m.expiresAtMs)) - Date.now() + 50));
    expect(await e.sweep()).toBe(27);
    for (let p = 1; p <= 9; p++) expect(await e.count(ref(queue, p))).toBe(p === 5 ? 1 : 0);
    expect(await e.read(ref(queue, 5), all)).toEqual([kept]);
  });

  // Last: it changes the topology (one primary dies, its replica takes over).
  it('survives a primary failover: listeners resync, appends resume, strong writes are kept', async () => {
    const prefix = freshPrefix('cl');
    const a = await engine(prefix);
    const b = await engine(prefix);
    await until(() => a.capabilities.consistency.strong);
    const queue: QueueMeta = await freshQueue(a, 9, { consistency: 'strong' });
    const events = new Map<number, PartitionEvent[]>();
    for (let p = 1; p <= 9; p++) {
      const list: PartitionEvent[] = [];
      events.set(p, list);
      await b.subscribe(ref(queue, p), (ev) => list.push(ev));
    }
    const before: StoredMessage[] = await a.append(queue, Array.from({ length: 9 }, (_, i) => msg(`before${i}`, i + 1)));
    await until(() => [...events.values()].every((l) => l.length === 1));

    // Kill the primary that owns partition 1 (and, as partitions spread, some others).
    const keys = new RedisKeys(prefix);
    const slot = keySlot(keys.partition(ref(queue, 1)).ids);
    const victim = await ownerOfSlot(slot);
    await cluster.node(victim).kill();
    await until(async () => !(await cluster.primaryPorts()).includes(victim));
    await cluster.waitHealthy();

    // Appends resume once the engine sees the new topology (retry only while it is unavailable).
    let after: StoredMessage[] | undefined;
    await until(async () => {
      after = await a.append(queue, Array.from({ length: 9 }, (_, i) => msg(`after${i}`, i + 1))).catch(() => undefined);
      return after !== undefined;
    });
    for (let p = 1; p <= 9; p++) {
      const history = await a.read(ref(queue, p), all);
      // Every acknowledged strong write is there, once, in order.
      expect(ids(history).filter((id) => id === before[p - 1]!.id)).toHaveLength(1);
      expect(ids(history).at(-1)).toBe(after!.find((m) => m.partition === p)!.id);
    }
    // Listeners of the failed shard are told to resync (they may have missed messages while their
    // shard was failing over), and from then on receive live messages again.
    const p1 = events.get(1)!;
    await until(() => p1.some((e) => e.type === 'resync'));
    const [final] = await a.append(queue, [msg('final', 1)]);
    await until(() => p1.some((e) => e.type === 'message' && e.message.id === final!.id));
    const delivered = p1.flatMap((e) => (e.type === 'message' ? [e.message.id] : []));
    // Whatever arrived live is in history order, without duplicates.
    const history = ids(await a.read(ref(queue, 1), all));
    expect(delivered).toEqual(history.filter((id) => delivered.includes(id)));
  });
});
