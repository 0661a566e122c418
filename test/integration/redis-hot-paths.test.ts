/**
 * The Redis engine's hot paths kept to as few round trips as correctness allows (index.ts header),
 * and the guarantees that had to survive it:
 *   - reads skip expired-but-unreclaimed messages whether there are few (looked up from one list)
 *     or many (asked per candidate); records decode byte-exact with every optional field;
 *   - appends check the queue inside the script (partition markers and incarnations): a deleted
 *     queue stores nothing, a queue deleted and created again never mixes with the old one in any
 *     order of the steps, a late mark cannot revive a deleted partition, data from before markers
 *     is kept;
 *   - concurrent appends combined into one script call keep call order and stay contiguous;
 *   - the expiry index is written only when the earliest expiry goes down, and re-asserted;
 *   - cached key and queue lookups follow changes made through any node, are bypassed while
 *     announcements may be lost, and a grown queue's new partitions are usable at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MessageQueues } from '../../src/domain/queues/service.js';
import { Catalog, defineCatalogScripts, hashKey } from '../../src/engine/redis/catalog.js';
import { RedisEngine, type RedisEngineOptions } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { definePartitionScripts, dropPartition, markPartition } from '../../src/engine/redis/partition-scripts.js';
import type { QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { isHoldlineError } from '../../src/errors.js';
import { freshQueue, ids, msg, Recorder, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

async function outlive(messages: StoredMessage[]): Promise<void> {
  const until = Math.max(...messages.map((m) => m.expiresAtMs)) + 100;
  await sleep(Math.max(0, until - Date.now()));
}

/** Polls until `read` returns what `ok` accepts; the test timeout bounds the wait. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    await sleep(5);
  }
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isHoldlineError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('redis engine: hot paths', () => {
  const engines: RedisEngine[] = [];
  let prefix: string;
  let keys: RedisKeys;
  let redis: Redis;
  let server: RedisServerHandle | undefined;

  /** An engine on the shared test Redis (or `url`), with an hour-long cache and index re-assertion unless told otherwise. */
  async function engine(opts: Partial<RedisEngineOptions> = {}): Promise<RedisEngine> {
    const e = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000, metaCacheTtlMs: 3_600_000, indexReassertMs: 3_600_000, ...opts });
    engines.push(e);
    await e.start();
    return e;
  }

  function partitionEntries(queue: QueueMeta, p: number): Promise<number[]> {
    const k = keys.partition(ref(queue, p));
    return Promise.all([redis.zcard(k.ids), redis.hlen(k.msg), redis.zcard(k.exp)]);
  }

  function indexScore(queue: QueueMeta, p = 1): Promise<string | null> {
    return redis.zscore(keys.expiryIndex, keys.partitionMember(ref(queue, p)));
  }

  beforeEach(() => {
    prefix = freshPrefix('hot');
    keys = new RedisKeys(prefix);
    redis = new Redis(inject('redisUrl'));
    definePartitionScripts(redis);
    defineCatalogScripts(redis);
  });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
    redis.disconnect();
    await server?.stop();
    server = undefined;
  });

  it.each([
    ['a few', 5],
    ['more than the read script lists at once', 300],
  ])('reads around %s expired, unreclaimed messages in both orders and every limit', async (_label, expiring) => {
    const e = await engine();
    const queue = await freshQueue(e, 1);
    // Expiring and lasting messages interleaved, so every page has to skip some.
    const batch = Array.from({ length: expiring * 2 }, (_, i) => msg(`m${i}`, 1, i % 2 === 0 ? 1 : 3600));
    const stored = await e.append(queue, batch);
    await outlive(stored.filter((m) => m.ttl === 1));
    const live = stored.filter((m) => m.ttl === 3600).map((m) => m.id);
    for (const limit of [1, 7, 100, 1000]) {
      expect(ids(await e.read(ref(queue), { limit, order: 'ascending' }))).toEqual(live.slice(0, limit));
      expect(ids(await e.read(ref(queue), { limit, order: 'descending' }))).toEqual([...live].reverse().slice(0, limit));
    }
    const since = { kind: 'id', id: stored[2]!.id } as const;
    expect(ids(await e.read(ref(queue), { since, limit: 3, order: 'ascending' }))).toEqual(live.slice(1, 4));
  });

  it('decodes every field of a record as stored, text and binary bodies alike', async () => {
    const e = await engine();
    const queue = await freshQueue(e, 2);
    const binary = Uint8Array.from([0, 255, 1, 254, 0x69, 0, 0, 0, 9]);
    const [text, bin] = await e.append(queue, [
      msg('héllo ✓ \u0000 end', 1, 77, { contentType: 'text/plain; charset=utf-8' }),
      msg(binary, 2, 3600, { inReplyTo: '0'.repeat(32) }),
    ]);
    const updated = await e.updateMessage(ref(queue, 1), text!.id, { clientState: 'seen', clientJson: { a: [1, 'x', null] }, ttl: 120 });
    expect(updated).toMatchObject({ body: 'héllo ✓ \u0000 end', ttl: 120, clientState: 'seen', clientJson: { a: [1, 'x', null] } });
    expect(updated!.updatedAtUs).toBeGreaterThanOrEqual(text!.timestampUs);
    expect(await e.read(ref(queue, 1), { limit: 10, order: 'ascending' })).toEqual([updated]);
    const [readBin] = await e.read(ref(queue, 2), { limit: 10, order: 'ascending' });
    expect(readBin).toEqual(bin);
    expect(Buffer.from(readBin!.body as Uint8Array).equals(Buffer.from(binary))).toBe(true);
  });

  it('stores nothing for a queue deleted through another node, whatever the first node still holds', async () => {
    const a = await engine();
    const b = await engine();
    const queue = await freshQueue(a, 2);
    await a.append(queue, [msg('before', 1)]);
    const stale = (await a.getQueue(queue.application, queue.name))!;
    expect(await b.deleteQueue(queue.application, queue.name)).toBe(true);
    // Partition 1 was in use (marked), partition 2 never was: both refuse.
    expect(await rejection(a.append(stale, [msg('late', 1)]))).toBe('queue_not_found');
    expect(await rejection(a.append(stale, [msg('late', 2)]))).toBe('queue_not_found');
    for (const p of [1, 2]) {
      expect(await partitionEntries(queue, p)).toEqual([0, 0, 0]);
      expect(await redis.hget(keys.partition(ref(queue, p)).state, 'q')).toMatch(/^-\d+$/);
    }
    expect(await indexScore(queue)).toBeNull();
  });

  it.each(['before', 'after'])(
    "keeps a queue created again under the same name apart from the deleted one when the old deletion's partition drop comes %s",
    async (when) => {
      const a = await engine();
      const b = await engine();
      const queue = await freshQueue(a, 1);
      await a.append(queue, [msg('old')]);
      const catalog = new Catalog(redis, keys);
      // deleteQueue's first step alone: the catalogue entry goes, the partition is not dropped yet.
      const deleted = (await catalog.deleteQueueMeta(queue.application, queue.name))!;
      const k = keys.partition(ref(queue));
      if (when === 'before') expect(await dropPartition(redis, k, deleted.inc, 60_000)).toBe(true);
      expect(await b.createQueue(queue)).toBe(true);
      const [fresh] = await b.append(queue, [msg('new')]);
      // The late drop of the old incarnation leaves the new queue alone.
      if (when === 'after') expect(await dropPartition(redis, k, deleted.inc, 60_000)).toBe(false);
      expect(await b.read(ref(queue), { limit: 10, order: 'ascending' })).toEqual([fresh]);
      const [more] = await a.append(queue, [msg('more')]);
      expect(ids(await a.read(ref(queue), { limit: 10, order: 'ascending' }))).toEqual([fresh!.id, more!.id]);
      expect(Number(await indexScore(queue))).toBeLessThanOrEqual(fresh!.expiresAtMs);
    },
  );

  it('never revives a deleted partition for a caller that read the catalogue before the deletion', async () => {
    const a = await engine();
    const queue = await freshQueue(a, 1);
    await a.append(queue, [msg('x')]);
    const record = (await new Catalog(redis, keys).queueRecord(queue.application, queue.name))!;
    expect(record.inc).toBeGreaterThan(0);
    expect(await a.deleteQueue(queue.application, queue.name)).toBe(true);
    const k = keys.partition(ref(queue));
    expect(await markPartition(redis, k, record.inc)).toBe(false);
    expect(await rejection(a.append(queue, [msg('y')]))).toBe('queue_not_found');
    expect(await partitionEntries(queue, 1)).toEqual([0, 0, 0]);
  });

  it('marks new and grown partitions on their first append, and keeps data stored before markers existed', async () => {
    const a = await engine();
    const queue = await freshQueue(a, 1);
    const [first] = await a.append(queue, [msg('first')]);
    // As a partition written before this version: no marker.
    await redis.hdel(keys.partition(ref(queue)).state, 'q');
    const [second] = await a.append(queue, [msg('second')]);
    expect(ids(await a.read(ref(queue), { limit: 10, order: 'ascending' }))).toEqual([first!.id, second!.id]);
    expect(second!.seq).toBe(first!.seq + 1);
    const grown = { ...queue, partitions: 3 };
    await a.updateQueue(grown);
    const [third] = await a.append(grown, [msg('third', 3)]);
    expect(await a.read(ref(queue, 3), { limit: 10, order: 'ascending' })).toEqual([third]);
    // A partition beyond the catalogue's count is not marked, even for a caller that believes in it.
    expect(await rejection(a.append({ ...queue, partitions: 4 }, [msg('fourth', 4)]))).toBe('queue_not_found');
    expect(await partitionEntries(queue, 4)).toEqual([0, 0, 0]);
  });

  it('stores concurrent appends to a partition in call order, each contiguous, and announces them in that order', async () => {
    const a = await engine();
    const queue = await freshQueue(a, 2);
    const rec = new Recorder();
    await a.subscribe(ref(queue), rec.listener);
    const calls = Array.from({ length: 60 }, (_, i) => a.append(queue, [msg(`c${i}-0`), msg(`c${i}-1`, 2), msg(`c${i}-2`)]));
    const results = await Promise.all(calls);
    const partition1 = results.flatMap((r) => r.filter((m) => m.partition === 1));
    expect(partition1.map((m) => m.body)).toEqual(results.flatMap((_, i) => [`c${i}-0`, `c${i}-2`]));
    for (let i = 1; i < partition1.length; i++) {
      expect(partition1[i]!.seq).toBe(partition1[i - 1]!.seq + 1);
      expect(partition1[i]!.id > partition1[i - 1]!.id).toBe(true);
    }
    expect(ids(await a.read(ref(queue), { limit: 1000, order: 'ascending' }))).toEqual(ids(partition1));
    await rec.waitFor(partition1.length);
    expect(rec.ids()).toEqual(ids(partition1));
  });

  it('writes the expiry index only when the earliest expiry goes down, and re-asserts it from a node that has not yet', async () => {
    const a = await engine();
    const queue = await freshQueue(a, 1);
    const [first] = await a.append(queue, [msg('a', 1, 3600)]);
    expect(Number(await indexScore(queue))).toBe(first!.expiresAtMs);
    // Taken out behind the engine's back: an append that does not lower the earliest expiry,
    // from a node that asserted this partition recently, does not write it...
    await redis.zrem(keys.expiryIndex, keys.partitionMember(ref(queue)));
    await a.append(queue, [msg('b', 1, 7200)]);
    expect(await indexScore(queue)).toBeNull();
    // ...one that lowers it does,
    const [short] = await a.append(queue, [msg('c', 1, 60)]);
    expect(Number(await indexScore(queue))).toBe(short!.expiresAtMs);
    // and a node that has not asserted it yet (e.g. after another one died mid-append) re-asserts it.
    await redis.zrem(keys.expiryIndex, keys.partitionMember(ref(queue)));
    const b = await engine();
    await b.append(queue, [msg('d', 1, 7200)]);
    expect(Number(await indexScore(queue))).toBe(short!.expiresAtMs);
  });

  it("serves key and queue lookups from memory and follows another node's changes as they are announced", async () => {
    const a = await engine();
    const b = await engine();
    const created = (await a.createApp(`app-${prefix}`))!;
    const app = created.app.name;
    const queue = await freshQueue(a, 1, { application: app });
    expect(await a.appForKey(created.key)).toBe(app);
    expect(await a.getQueue(app, queue.name)).toEqual(queue);
    // Changed behind every engine's back, without an announcement: the cached answers stay.
    await redis.hset(keys.queues(app), queue.name, JSON.stringify({ ...queue, type: 'public' }));
    await redis.hdel(keys.keyHashes, hashKey(created.key));
    expect(await a.getQueue(app, queue.name)).toEqual(queue);
    expect(await a.appForKey(created.key)).toBe(app);
    // What a caller does with its copy does not reach the cache.
    (await a.getQueue(app, queue.name))!.principles.push('app:intruder');
    expect((await a.getQueue(app, queue.name))!.principles).toEqual([]);

    // A change through another node reaches this one (the cache lives an hour here).
    const updated: QueueMeta = { ...queue, partitions: 2, principles: ['app:reader'] };
    await b.updateQueue(updated);
    await until(() => a.getQueue(app, queue.name), (m) => m?.partitions === 2);
    expect(await a.getQueue(app, queue.name)).toEqual(updated);
    // This node's own change is visible to it at once.
    const own: QueueMeta = { ...updated, consistency: 'strong' };
    await a.updateQueue(own);
    expect(await a.getQueue(app, queue.name)).toEqual(own);

    expect(await b.deleteApp(app)).toBe(true);
    await until(() => a.appForKey(created.key), (v) => v === null);
    expect(await a.getQueue(app, queue.name)).toBeNull();
  });

  it('bypasses the cache while its announcements may be lost, empties it once they flow again, then caches again', async () => {
    server = await startRedisServer();
    const own = new Redis(server.url);
    try {
      const a = await engine({ url: server.url });
      const queue = await freshQueue(a, 1);
      const write = (type: 'user' | 'public', principles: string[]) =>
        own.hset(keys.queues(queue.application), queue.name, JSON.stringify({ ...queue, type, principles }));
      expect(await a.getQueue(queue.application, queue.name)).toEqual(queue);
      await write('public', []);
      expect((await a.getQueue(queue.application, queue.name))!.type).toBe('user');
      // The subscription's connection drops: announcements made meanwhile would be lost.
      await own.client('KILL', 'TYPE', 'pubsub');
      await until(() => a.getQueue(queue.application, queue.name), (m) => m?.type === 'public');
      // Once resubscribed, answers are cached again: a write without announcement goes unseen.
      let n = 0;
      await until(
        async () => {
          n++;
          await write('public', [`app:r${n}`]);
          return a.getQueue(queue.application, queue.name);
        },
        (m) => m !== null && m.principles[0] !== `app:r${n}`,
      );
    } finally {
      own.disconnect();
    }
  });

  it('uses a partition a grow made through another node added, before this node heard of the grow', async () => {
    const a = await engine();
    const queue = await freshQueue(a, 1);
    const queues = new MessageQueues(a, { maxMessageBytes: 1024, defaultTtl: 60 });
    const cached = await queues.requireQueue(queue.application, queue.name);
    // The grow as the catalogue holds it, its announcement not (yet) received.
    await redis.hset(keys.queues(queue.application), queue.name, JSON.stringify({ ...queue, partitions: 3 }));
    expect((await a.getQueue(queue.application, queue.name))!.partitions).toBe(1);
    const [stored] = await queues.post(cached, [{ body: 'to the new partition', partition: 3 }]);
    expect(stored!.partition).toBe(3);
    expect(ids(await queues.read(cached, { partitions: '3' }))).toEqual([stored!.id]);
    expect((await queues.getMessage(cached, stored!.id)).body).toBe('to the new partition');
    expect(await queues.deleteMessages(cached, stored!.id)).toBe(1);
    // Beyond what the catalogue holds: still refused.
    await expect(queues.post(cached, [{ body: 'x', partition: 4 }])).rejects.toMatchObject({ code: 'partition_out_of_range' });
  });
});
