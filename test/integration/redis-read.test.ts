/**
 * The Redis engine's history read (partition-scripts.ts readRecords, record.ts RecordCache):
 *   - read.lua picks the ids and HMGET fetches the records; a record gone in between (deleted, or
 *     reclaimed) makes the read start again in one atomic step, so the result is still `limit`
 *     messages with no hole, never one that is gone;
 *   - decoded records are kept between reads, shared and frozen, and an updated record (same id,
 *     other bytes) is decoded again: reads never return a stale message.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { definePartitionScripts, readRecords } from '../../src/engine/redis/partition-scripts.js';
import { decodeRecord, RecordCache } from '../../src/engine/redis/record.js';
import type { ReadOptions } from '../../src/engine/types.js';
import { freshQueue, ids, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

describe('redis engine: history reads', () => {
  let prefix: string;
  let engine: RedisEngine;
  let redis: Redis;

  beforeEach(async () => {
    prefix = freshPrefix();
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    await engine.start();
    redis = new Redis(inject('redisUrl'));
    definePartitionScripts(redis);
  });
  afterEach(async () => {
    redis.disconnect();
    await engine.close();
  });

  /** A client whose HMGET first runs `between` (on another connection): the interleaving the two steps allow. */
  function interleaved(between: (ids: string[]) => Promise<void>): { client: Redis; hmgets: () => number } {
    let hmgets = 0;
    const client = new Proxy(redis, {
      get(target, name, receiver) {
        if (name === 'hmgetBuffer') {
          return async (key: string, ...fields: string[]) => {
            hmgets++;
            if (hmgets === 1) await between(fields);
            return target.hmgetBuffer(key, ...fields);
          };
        }
        const v = Reflect.get(target, name, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { client, hmgets: () => hmgets };
  }

  it.each<['ascending' | 'descending']>([['ascending'], ['descending']])(
    'a record deleted between the two steps: read again atomically, still `limit` messages, no hole (%s)',
    async (order) => {
      const queue = await freshQueue(engine);
      const stored = await engine.append(queue, Array.from({ length: 10 }, (_, i) => msg(`m${i}`)));
      const k = new RedisKeys(prefix).partition(ref(queue));
      const inOrder = order === 'ascending' ? ids(stored) : ids(stored).reverse();
      const victim = inOrder[2]!;
      const { client, hmgets } = interleaved(async () => {
        expect(await engine.deleteMessages(ref(queue), [victim])).toBe(1);
      });
      const opts: ReadOptions = { limit: 5, order };
      const records = await readRecords(client, k, opts);
      expect(hmgets()).toBe(1);
      expect(records.map((r) => decodeRecord(r).id)).toEqual(inOrder.filter((id) => id !== victim).slice(0, 5));
    },
  );

  it('a record updated between the two steps is returned as updated, in its place', async () => {
    const queue = await freshQueue(engine);
    const stored = await engine.append(queue, [msg('a'), msg('b'), msg('c')]);
    const k = new RedisKeys(prefix).partition(ref(queue));
    const { client } = interleaved(async () => {
      expect(await engine.updateMessage(ref(queue), stored[1]!.id, { clientState: 'seen' })).not.toBeNull();
    });
    const read = (await readRecords(client, k, { limit: 10, order: 'ascending' })).map(decodeRecord);
    expect(read.map((m) => [m.body, m.clientState])).toEqual([['a', undefined], ['b', 'seen'], ['c', undefined]]);
  });

  it('reads see updates at once: kept decoded messages answer only for the same bytes', async () => {
    const queue = await freshQueue(engine);
    const [m] = await engine.append(queue, [msg('job "é"')]);
    const first = await engine.read(ref(queue), { limit: 10, order: 'ascending' });
    const again = await engine.read(ref(queue), { limit: 10, order: 'ascending' });
    expect(again[0]).toBe(first[0]); // shared between reads
    expect(Object.isFrozen(again[0])).toBe(true);
    await engine.updateMessage(ref(queue), m!.id, { clientState: 'processing', clientJson: { by: ['w1'] } });
    const updated = await engine.read(ref(queue), { limit: 10, order: 'ascending' });
    expect(updated[0]).toMatchObject({ id: m!.id, body: 'job "é"', clientState: 'processing', clientJson: { by: ['w1'] } });
    expect(Object.isFrozen((updated[0]!.clientJson as { by: string[] }).by)).toBe(true);
    await engine.updateMessage(ref(queue), m!.id, { body: 'replaced', clientState: null });
    const replaced = await engine.read(ref(queue), { limit: 10, order: 'ascending' });
    expect(replaced[0]!.body).toBe('replaced');
    expect(replaced[0]!.clientState).toBeUndefined();
  });

  it('binary bodies are not shared between reads (a Uint8Array cannot be frozen)', async () => {
    const queue = await freshQueue(engine);
    await engine.append(queue, [msg(Uint8Array.of(0, 1, 255))]);
    const a = await engine.read(ref(queue), { limit: 1, order: 'ascending' });
    const b = await engine.read(ref(queue), { limit: 1, order: 'ascending' });
    expect(a[0]).not.toBe(b[0]);
    (a[0]!.body as Uint8Array)[0] = 9;
    expect(b[0]!.body).toEqual(Uint8Array.of(0, 1, 255));
  });

  // updatedAtUs versions a message's encodings (server/message-encoding.ts). A partition whose
  // timestamps ran ahead of the server clock (a failover to a replica whose clock is behind) gives
  // every update the message's own timestamp as "now": the updates must still get distinct times.
  it('every update advances updatedAtUs, also when the clock is behind the message', async () => {
    const queue = await freshQueue(engine);
    const k = new RedisKeys(prefix).partition(ref(queue));
    await redis.hset(k.state, 'ts', String((Date.now() + 3_600_000) * 1000));
    const [m] = await engine.append(queue, [msg('ahead')]);
    const first = await engine.updateMessage(ref(queue), m!.id, { clientState: 'a' });
    const second = await engine.updateMessage(ref(queue), m!.id, { clientState: 'b' });
    expect(first!.updatedAtUs).toBeGreaterThanOrEqual(m!.timestampUs);
    expect(second!.updatedAtUs).toBeGreaterThan(first!.updatedAtUs!);
  });
});

describe('RecordCache', () => {
  function record(id: string, body: string): Buffer {
    const parts: Buffer[] = [];
    for (const [tag, value] of [['i', Buffer.from(id, 'latin1')], ['l', Buffer.from('60')], ['e', Buffer.from('1900000000000')], ['t', Buffer.from(body)]] as const) {
      const head = Buffer.alloc(5);
      head.write(tag, 0, 'latin1');
      head.writeUInt32BE(value.length, 1);
      parts.push(head, value);
    }
    return Buffer.concat(parts);
  }
  const ID = '0647d0a1b2c3d4000000000001010abc';

  it('decodes as decodeRecord does, keeps within its byte budget, and never answers for other bytes', () => {
    const cache = new RecordCache(20_000);
    const r = record(ID, 'one');
    expect(cache.decode(r)).toEqual(decodeRecord(r));
    expect(cache.decode(Buffer.from(r))).toBe(cache.decode(r));
    const other = record(ID, 'two');
    expect(cache.decode(other).body).toBe('two');
    for (let i = 0; i < 200; i++) cache.decode(record(ID.slice(0, 20) + String(i).padStart(12, '0'), 'x'.repeat(100)));
    expect(cache.size).toBeLessThan(200);
    expect(cache.size).toBeGreaterThan(0);
  });
});
