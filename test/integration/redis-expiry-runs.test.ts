/**
 * The expiry index by runs (issue 18, keys.ts `exp`): one entry per run of messages appended
 * together with the same ttl instead of one per message, while expiry stays per message: an update
 * that gives one message of a run another ttl is honoured by reads, counts and the sweeper; a run
 * longer than one sweep call is narrowed and finished by the next; and data indexed one entry per
 * message (the layout before runs) is read and reclaimed as before.
 */
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { definePartitionScripts, sweepPartitionStep } from '../../src/engine/redis/partition-scripts.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { PartitionRef, StoredMessage } from '../../src/engine/types.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

// Every test waits out a ttl of a second: they run at once, each on a prefix, engine and
// connection of its own, instead of one after the other.
describe.concurrent('redis engine: the expiry index by runs', () => {
  async function own(onTestFinished: (fn: () => Promise<void>) => void) {
    const prefix = freshPrefix('runs');
    const keys = new RedisKeys(prefix);
    const redis = new Redis(inject('redisUrl'));
    definePartitionScripts(redis);
    const engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    await engine.start();
    onTestFinished(async () => {
      await engine.close();
      redis.disconnect();
    });

    async function index(r: PartitionRef): Promise<Array<[string, number]>> {
      const flat = await redis.zrange(keys.partition(r).exp, 0, -1, 'WITHSCORES');
      const out: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
      return out;
    }

    async function past(messages: StoredMessage[]): Promise<void> {
      const at = Math.max(...messages.map((m) => m.expiresAtMs));
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now()) + 50));
    }

    async function bodies(r: PartitionRef): Promise<string[]> {
      return (await engine.read(r, { limit: 100, order: 'ascending' })).map((m) => String(m.body));
    }

    return { keys, redis, engine, index, past, bodies };
  }

  it('indexes one entry per run of one ttl; each message still expires by its own ttl', async ({ onTestFinished }) => {
    const { keys, redis, engine, index, past, bodies } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const out = await engine.append(queue, [msg('a', 1, 1), msg('b', 1, 1), msg('c', 1, 3600), msg('d', 1, 1), msg('e', 1, 1), msg('f', 1, 1)]);
    const ids = out.map((m) => m.id);
    expect(await index(r)).toEqual([
      [`${ids[0]} ${ids[1]}`, out[0]!.expiresAtMs],
      [`${ids[3]} ${ids[5]}`, out[3]!.expiresAtMs],
      [ids[2], out[2]!.expiresAtMs],
    ]);
    await past([out[0]!]);
    expect(await bodies(r)).toEqual(['c']);
    expect(await engine.read(r, { limit: 100, order: 'descending' })).toEqual([out[2]]);
    expect(await engine.count(r)).toBe(1);
    expect(await engine.getMessage(r, ids[0]!)).toBeNull();
    expect(await engine.getMessage(r, ids[2]!)).toEqual(out[2]);
    expect(await engine.updateMessage(r, ids[1]!, { ttl: 60 })).toBeNull();
    expect(await engine.deleteMessages(r, [ids[3]!])).toBe(0);
    expect(await engine.sweep()).toBe(4);
    expect(await redis.zcard(keys.partition(r).ids)).toBe(1);
    expect(await index(r)).toEqual([[ids[2], out[2]!.expiresAtMs]]);
  });

  it('keeps a message an update gave a longer ttl when its run expires, and reclaims it at its own expiry', async ({ onTestFinished }) => {
    const { keys, redis, engine, index, past, bodies } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const out = await engine.append(queue, [msg('a', 1, 1), msg('b', 1, 1), msg('c', 1, 1)]);
    const longer = await engine.updateMessage(r, out[1]!.id, { ttl: 2 });
    expect(longer!.expiresAtMs).toBeGreaterThan(out[1]!.expiresAtMs);
    await past(out);
    expect(await bodies(r)).toEqual(['b']);
    expect(await engine.count(r)).toBe(1);
    expect(await engine.sweep()).toBe(2);
    expect(await bodies(r)).toEqual(['b']);
    expect(await index(r)).toEqual([[out[1]!.id, longer!.expiresAtMs]]);
    await past([longer!]);
    expect(await bodies(r)).toEqual([]);
    expect(await engine.count(r)).toBe(0);
    expect(await engine.sweep()).toBe(1);
    expect(await redis.exists(keys.partition(r).ids, keys.partition(r).msg, keys.partition(r).exp)).toBe(0);
  });

  it('hides and reclaims a message an update gave a shorter ttl while the rest of its run lives', async ({ onTestFinished }) => {
    const { engine, index, past, bodies } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const out = await engine.append(queue, [msg('a', 1, 3600), msg('b', 1, 3600), msg('c', 1, 3600)]);
    const shorter = await engine.updateMessage(r, out[1]!.id, { ttl: 1 });
    await past([shorter!]);
    expect(await bodies(r)).toEqual(['a', 'c']);
    expect(await engine.count(r)).toBe(2);
    expect(await engine.getMessage(r, out[1]!.id)).toBeNull();
    expect(await engine.read(r, { limit: 100, order: 'ascending', filter: { states: [null] } })).toEqual([out[0], out[2]]);
    expect(await engine.sweep()).toBe(1);
    expect(await bodies(r)).toEqual(['a', 'c']);
    expect(await index(r)).toEqual([[`${out[0]!.id} ${out[2]!.id}`, out[0]!.expiresAtMs]]);
  });

  it('narrows a run longer than one sweep call, and the next calls finish it', async ({ onTestFinished }) => {
    const { keys, redis, engine, index, past } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const out = await engine.append(queue, Array.from({ length: 25 }, (_, i) => msg(`m${i}`, 1, 1)));
    await past(out);
    const k = keys.partition(r);
    expect(await sweepPartitionStep(redis, k, 10)).toEqual({ reclaimed: 10, earliestMs: out[0]!.expiresAtMs, more: true });
    expect(await index(r)).toEqual([[`${out[10]!.id} ${out[24]!.id}`, out[0]!.expiresAtMs]]);
    expect(await engine.count(r)).toBe(0);
    expect(await sweepPartitionStep(redis, k, 10)).toEqual({ reclaimed: 10, earliestMs: out[0]!.expiresAtMs, more: true });
    expect(await sweepPartitionStep(redis, k, 10)).toEqual({ reclaimed: 5, earliestMs: -1, more: false });
    expect(await redis.exists(k.ids, k.msg, k.exp)).toBe(0);
  });

  it('reads around more expired messages in runs than the read scripts list at once', async ({ onTestFinished }) => {
    const { engine, past, bodies } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const dead = await engine.append(queue, Array.from({ length: 300 }, (_, i) => msg(`x${i}`, 1, 1)));
    const live = await engine.append(queue, [msg('live1', 1, 3600)]);
    const dead2 = await engine.append(queue, Array.from({ length: 300 }, (_, i) => msg(`y${i}`, 1, 1)));
    const live2 = await engine.append(queue, [msg('live2', 1, 3600)]);
    await past([...dead, ...dead2]);
    expect(await bodies(r)).toEqual(['live1', 'live2']);
    expect(await engine.read(r, { limit: 1, order: 'descending' })).toEqual(live2);
    expect(await engine.read(r, { limit: 100, order: 'ascending', filter: { states: [null] } })).toEqual([...live, ...live2]);
    expect(await engine.count(r)).toBe(2);
    expect(await engine.sweep()).toBe(600);
    expect(await bodies(r)).toEqual(['live1', 'live2']);
  });

  it('reads and reclaims data indexed one entry per message (the layout before runs)', async ({ onTestFinished }) => {
    const { keys, redis, engine, index, past, bodies } = await own(onTestFinished);
    const queue = await freshQueue(engine, 1);
    const r = ref(queue);
    const k = keys.partition(r);
    const out = await engine.append(queue, [msg('a', 1, 1), msg('b', 1, 3600), msg('c', 1, 1)]);
    // Rewrite the index as the old layout had it: every id at its own expiry.
    await redis.del(k.exp);
    await redis.zadd(k.exp, ...out.flatMap((m) => [m.expiresAtMs, m.id]));
    await past([out[0]!]);
    expect(await bodies(r)).toEqual(['b']);
    expect(await engine.count(r)).toBe(1);
    expect(await engine.sweep()).toBe(2);
    expect(await bodies(r)).toEqual(['b']);
    expect(await index(r)).toEqual([[out[1]!.id, out[1]!.expiresAtMs]]);
  });
});
