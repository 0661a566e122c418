/**
 * Cluster safety by construction (STYLE.md example 2, issue 6): every key of one partition and its
 * live channel hash to one slot, all metadata keys hash to one slot, and nothing outside the
 * engine's prefix is written. Slots are computed with `cluster-key-slot`, the implementation
 * ioredis itself routes by, independently of the engine's own slot.ts.
 */
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { keySlot } from '../../src/engine/redis/slot.js';
import { freshQueue, msg, Recorder, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

async function keysWith(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out.sort();
}

function hashTag(key: string): string {
  return key.slice(key.indexOf('{'), key.indexOf('}') + 1);
}

describe('redis engine: keys and hash tags', () => {
  let engine: RedisEngine;
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    prefix = freshPrefix('keys');
    engine = new RedisEngine({ url: inject('redisUrl'), prefix });
    await engine.start();
    redis = new Redis(inject('redisUrl'));
  });
  afterEach(async () => {
    await engine.close();
    redis.disconnect();
  });

  it('puts every key of a partition, and its live channel, in one slot', async () => {
    // A queue name with the characters that would break a hash tag or a separator if left raw.
    const plain = await freshQueue(engine, 5);
    const tricky = await freshQueue(engine, 3, { application: plain.application, name: 'odd:{name}' });
    for (const queue of [plain, tricky]) {
      const stored = await engine.append(queue, Array.from({ length: queue.partitions * 2 }, (_, i) => msg(`m${i}`, 1 + (i % queue.partitions))));
      await engine.updateMessage(ref(queue, 1), stored[0]!.id, { clientState: 'seen', ttl: 60 });
    }
    const rec = new Recorder();
    await engine.subscribe(ref(tricky, 2), rec.listener);
    // The partition's channel, and the metadata change channel every engine keeps (meta-cache.ts).
    const shardChannels = (await redis.pubsub('SHARDCHANNELS', `*${prefix}*`)) as string[];
    expect(shardChannels).toHaveLength(2);
    const metaChannel = shardChannels.find((c) => c.startsWith(`{${prefix}:meta}`));
    expect(metaChannel).toBeDefined();
    const channels = shardChannels.filter((c) => c !== metaChannel);

    const keys = await keysWith(redis, prefix);
    const partitionKeys = keys.filter((k) => k.includes(':m:'));
    // ids, msg, exp, state for each of the 8 partitions; the two partitions whose message got a
    // client_state also hold its processing-state indexes (stated, unset, updated; keys.ts) and
    // the event outbox the change recorded into (evout).
    expect(partitionKeys).toHaveLength(8 * 4 + 2 * 4);
    const byTag = new Map<string, string[]>();
    for (const key of partitionKeys) byTag.set(hashTag(key), [...(byTag.get(hashTag(key)) ?? []), key]);
    expect(byTag.size).toBe(8);
    for (const [tag, group] of byTag) {
      const names = group.map((k) => k.slice(tag.length)).sort();
      expect(names.length === 4 ? names : names.filter((n) => ![':stated', ':unset', ':updated', ':evout'].includes(n))).toEqual([':exp', ':ids', ':msg', ':state']);
      expect(new Set(group.map(calculateSlot)).size).toBe(1);
    }
    // The subscribed channel is in the slot of its partition's keys.
    const channel = channels[0]!;
    const group = byTag.get(hashTag(channel));
    expect(group).toBeDefined();
    expect(calculateSlot(channel)).toBe(calculateSlot(group![0]!));

    // Metadata: apps, key hashes, app keys, queue catalogue, in one slot; the expiry index apart.
    const metaKeys = keys.filter((k) => !k.includes(':m:'));
    expect(metaKeys.every((k) => k.startsWith(`{${prefix}:`))).toBe(true);
    const index = metaKeys.filter((k) => k.includes(':expiry}'));
    expect(index).toHaveLength(1);
    // The event logs (one slot per application) and their registry keep slots of their own (keys.ts).
    const catalogue = metaKeys.filter((k) => !k.includes(':expiry}') && !k.startsWith(`{${prefix}:ev:`) && !k.startsWith(`{${prefix}:evreg}`));
    expect(catalogue.length).toBeGreaterThanOrEqual(5);
    expect(new Set([...catalogue, metaChannel!].map(calculateSlot)).size).toBe(1);
    // Partitions are spread over slots, not piled on one.
    expect(new Set(partitionKeys.map(calculateSlot)).size).toBe(8);
  });

  it('computes the same slots as the cluster-key-slot package', () => {
    // Not 'foo{}{bar}': there cluster-key-slot 1.1.1 departs from Redis (which hashes the whole key,
    // as slot.ts does); no engine key has an empty tag. test/cluster checks slot.ts against Redis.
    const samples = ['', 'a', 'foo', '{user1000}.following', 'foo{{bar}}zap', 'foo{bar}{zap}', '{}x', 'héllo{wörld}', `{${prefix}:m:a:b:1}:ids`];
    for (let i = 0; i < 200; i++) samples.push(Math.random().toString(36).repeat(1 + (i % 4)) + (i % 3 === 0 ? `{t${i}}` : ''));
    for (const s of samples) expect(keySlot(s), s).toBe(calculateSlot(s));
  });
});
