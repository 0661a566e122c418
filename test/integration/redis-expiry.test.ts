/**
 * Reclamation of expired messages on the Redis engine (issue 2, sweeper.ts): memory is actually
 * freed (keys and entries gone, inspected with a plain Redis client), within the documented bound,
 * through the expiry index rather than a keyspace scan; and the index never loses a partition that
 * holds messages, even while sweeps that empty partitions race appends to them.
 */
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { definePartitionScripts, sweepPartition } from '../../src/engine/redis/partition-scripts.js';
import { ExpirySweeper } from '../../src/engine/redis/sweeper.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { PartitionRef, QueueMeta } from '../../src/engine/types.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

const SWEEP_MS = 200;

describe('redis engine: expiry reclamation', () => {
  /** A prefix, a plain Redis client and the test's engines (closed after it) of the test's own. */
  async function own(onTestFinished: (fn: () => Promise<void>) => void) {
    const prefix = freshPrefix('exp');
    const keys = new RedisKeys(prefix);
    const redis = new Redis(inject('redisUrl'));
    const engines: RedisEngine[] = [];
    onTestFinished(async () => {
      for (const e of engines.splice(0)) await e.close();
      redis.disconnect();
    });

    async function engineWith(sweepIntervalMs: number): Promise<RedisEngine> {
      const engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs });
      engines.push(engine);
      await engine.start();
      return engine;
    }

    /** What Redis holds for a partition: entries in each structure (0 once the key is gone). */
    async function stored(r: PartitionRef): Promise<{ ids: number; msg: number; exp: number }> {
      const k = keys.partition(r);
      const [ids, msgs, exp] = await Promise.all([redis.zcard(k.ids), redis.hlen(k.msg), redis.zcard(k.exp)]);
      return { ids, msg: msgs, exp };
    }

    async function indexed(): Promise<Map<string, number>> {
      const flat = await redis.zrange(keys.expiryIndex, 0, -1, 'WITHSCORES');
      const out = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
      return out;
    }

    /** The index invariant (sweeper.ts): a partition with messages is indexed at or before its earliest expiry. */
    async function expectIndexCovers(queue: QueueMeta): Promise<void> {
      const index = await indexed();
      for (let p = 1; p <= queue.partitions; p++) {
        const r = ref(queue, p);
        const first = await redis.zrange(keys.partition(r).exp, 0, 0, 'WITHSCORES');
        if (first.length === 0) continue;
        const score = index.get(keys.partitionMember(r));
        expect(score, `partition ${p} missing from the expiry index`).toBeDefined();
        expect(score!).toBeLessThanOrEqual(Number(first[1]));
      }
    }

    return { keys, redis, engineWith, stored, indexed, expectIndexCovers };
  }

  it('frees expired messages within sweepIntervalMs of their expiry, and keeps the rest', async ({ onTestFinished }) => {
    const { keys, redis, engineWith, stored, indexed } = await own(onTestFinished);
    const engine = await engineWith(SWEEP_MS);
    const queue = await freshQueue(engine, 3);
    const short = await engine.append(queue, [...Array.from({ length: 50 }, (_, i) => msg(`s${i}`, 1 + (i % 2), 1)), msg('short', 3, 1)]);
    const [kept] = await engine.append(queue, [msg('kept', 3, 3600)]);
    // The expiry index holds one entry per run of one append's messages that share a ttl (keys.ts).
    expect(await stored(ref(queue, 1))).toEqual({ ids: 25, msg: 25, exp: 1 });
    expect((await indexed()).size).toBe(3);

    const expiresAt = Math.max(...short.map((m) => m.expiresAtMs));
    // The documented bound (sweeper.ts) is expiry + sweepIntervalMs + the sweep's own time; one
    // second of slack covers the sweep and the two clocks (same machine here).
    const deadline = expiresAt + SWEEP_MS + 1000;
    for (;;) {
      const [p1, p2, p3] = await Promise.all([1, 2, 3].map((p) => stored(ref(queue, p))));
      if (p1!.msg === 0 && p2!.msg === 0 && p3!.msg === 1) break;
      expect(Date.now(), 'expired messages not reclaimed within the documented bound').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const p of [1, 2]) {
      const k = keys.partition(ref(queue, p));
      expect(await redis.exists(k.ids, k.msg, k.exp)).toBe(0);
    }
    expect(await stored(ref(queue, 3))).toEqual({ ids: 1, msg: 1, exp: 1 });
    expect(await engine.read(ref(queue, 3), { limit: 10, order: 'ascending' })).toEqual([kept]);
    // Empty partitions leave the index; the one left is indexed at its remaining message's expiry.
    expect([...(await indexed())]).toEqual([[keys.partitionMember(ref(queue, 3)), kept!.expiresAtMs]]);
  });

  // The next three wait out ttls of a few seconds, with no bound on time to check: they run at once.
  it.concurrent('reclaims a partition holding more expired messages than one script call takes, in one round', async ({ onTestFinished }) => {
    const { engineWith, stored, indexed } = await own(onTestFinished);
    const engine = await engineWith(60_000);
    const queue = await freshQueue(engine, 1);
    const batch = Array.from({ length: 500 }, (_, i) => msg(`m${i}`, 1, 1));
    const out = (await Promise.all(Array.from({ length: 5 }, () => engine.append(queue, batch)))).flat();
    expect(await engine.count(ref(queue))).toBe(2500);
    const expiresAt = Math.max(...out.map((m) => m.expiresAtMs));
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50));
    expect(await engine.count(ref(queue))).toBe(0);
    // One expiry index entry per append call (the appender may combine the five appends; keys.ts).
    expect(await stored(ref(queue))).toMatchObject({ ids: 2500, msg: 2500 });
    expect((await stored(ref(queue))).exp).toBeLessThanOrEqual(5);
    expect(await engine.sweep()).toBe(2500);
    expect(await stored(ref(queue))).toEqual({ ids: 0, msg: 0, exp: 0 });
    expect((await indexed()).size).toBe(0);
  });

  it.concurrent('never loses a partition from the index while sweeps race appends, and frees everything in the end', async ({ onTestFinished }) => {
    const { engineWith, stored, indexed, expectIndexCovers } = await own(onTestFinished);
    // Two nodes, each sweeping as fast as it can while both append 1-second messages, so sweeps keep
    // emptying partitions that appends are refilling.
    const a = await engineWith(60_000);
    const b = await engineWith(60_000);
    const queue = await freshQueue(a, 4);
    const until = Date.now() + 2500;
    let appended = 0;
    const producer = async (engine: RedisEngine, offset: number): Promise<void> => {
      for (let i = 0; Date.now() < until; i++) {
        const ttl = i % 10 === 0 ? 2 : 1;
        const out = await engine.append(queue, [msg(`x${i}`, 1 + ((i + offset) % 4), ttl)]);
        appended += out.length;
      }
    };
    const sweeper = async (engine: RedisEngine): Promise<number> => {
      let reclaimed = 0;
      while (Date.now() < until) {
        const n = await engine.sweep();
        reclaimed += n;
      }
      return reclaimed;
    };
    const [, , reclaimedA, reclaimedB] = await Promise.all([producer(a, 0), producer(b, 1), sweeper(a), sweeper(b)]);
    expect(reclaimedA + reclaimedB).toBeGreaterThan(0);
    await expectIndexCovers(queue);

    await new Promise((r) => setTimeout(r, 2100));
    let reclaimed = reclaimedA + reclaimedB;
    reclaimed += await a.sweep();
    expect(reclaimed).toBe(appended);
    for (let p = 1; p <= 4; p++) expect(await stored(ref(queue, p))).toEqual({ ids: 0, msg: 0, exp: 0 });
    expect((await indexed()).size).toBe(0);
  });

  it.concurrent('keeps a partition indexed when an append lands between a sweep that empties it and the index update', async ({ onTestFinished }) => {
    const { keys, redis, engineWith, indexed } = await own(onTestFinished);
    // The interleaving the protocol in sweeper.ts exists for, played step by step: (1) sweep.lua
    // empties the partition, an append stores a message and lowers the index, then (2)+(3).
    const engine = await engineWith(60_000);
    const queue = await freshQueue(engine, 1);
    const [old] = await engine.append(queue, [msg('old', 1, 1)]);
    await new Promise((r) => setTimeout(r, Math.max(0, old!.expiresAtMs - Date.now()) + 50));
    definePartitionScripts(redis);
    const k = keys.partition(ref(queue));
    expect(await sweepPartition(redis, k, 1000)).toEqual({ reclaimed: 1, earliestMs: -1 });
    const [fresh] = await engine.append(queue, [msg('fresh', 1, 3600)]);
    // Still the old, lower score: ZADD LT never raises one.
    expect((await indexed()).get(keys.partitionMember(ref(queue)))).toBe(old!.expiresAtMs);
    await new ExpirySweeper(redis, keys, 60_000, undefined).reindex(ref(queue), -1);
    expect((await indexed()).get(keys.partitionMember(ref(queue)))).toBe(fresh!.expiresAtMs);
  });

  it('forgets a deleted queue: its keys and index entries go with it', async ({ onTestFinished }) => {
    const { keys, redis, engineWith, indexed } = await own(onTestFinished);
    const engine = await engineWith(60_000);
    const queue = await freshQueue(engine, 3);
    await engine.append(queue, [msg('a', 1), msg('b', 2), msg('c', 3)]);
    expect((await indexed()).size).toBe(3);
    expect(await engine.deleteQueue(queue.application, queue.name)).toBe(true);
    expect((await indexed()).size).toBe(0);
    for (let p = 1; p <= 3; p++) {
      const k = keys.partition(ref(queue, p));
      expect(await redis.exists(k.ids, k.msg, k.exp)).toBe(0);
      // What stays is the partition's tombstone (partition-drop.lua), and only for a while.
      expect(await redis.hget(k.state, 'q')).toMatch(/^-\d+$/);
      expect(await redis.pttl(k.state)).toBeGreaterThan(0);
    }
  });
});
