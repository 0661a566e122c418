/**
 * History from memory (src/engine/redis/tail-cache.ts): a node that follows a partition answers
 * `since`/`limit` reads from its in-process tail when the range is held, and the answer is exactly
 * the store's. Node A follows the partition (engine.subscribe, as the WebSocket hub does); node B has
 * no tail (historyCacheBytes 0) and makes the changes, so updates and deletes reach A only through
 * Redis, as between two real nodes. Every read on A is compared with the same read on B.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { PartitionRef, QueueMeta, ReadOptions, StoredMessage, Unsubscribe } from '../../src/engine/types.js';
import { metrics } from '../../src/metrics/registry.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function nodes(url: string, historyCacheBytes?: number): Promise<{ a: RedisEngine; b: RedisEngine }> {
  const prefix = freshPrefix('tail');
  const a = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, ...(historyCacheBytes === undefined ? {} : { historyCacheBytes }) });
  const b = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, historyCacheBytes: 0 });
  await a.start();
  await b.start();
  cleanups.push(() => a.close(), () => b.close());
  return { a, b };
}

/** A follows the partition, and its tail is filled (a first read starts the fill). */
async function follow(a: RedisEngine, r: PartitionRef): Promise<Unsubscribe> {
  const unsubscribe = await a.subscribe(r, () => undefined);
  await warm(a, r);
  return unsubscribe;
}

async function warm(a: RedisEngine, r: PartitionRef): Promise<void> {
  await until(
    async () => {
      await a.read(r, { limit: 1, order: 'descending' });
      return a.historyCacheStats().filled > 0;
    },
    { what: 'the tail filled' },
  );
}

/** The read on A answered from its tail (a hit), and equal to the store's answer (B). */
async function readHeld(a: RedisEngine, b: RedisEngine, r: PartitionRef, opts: ReadOptions): Promise<StoredMessage[]> {
  let got: StoredMessage[] = [];
  await until(
    async () => {
      const before = a.historyCacheStats().hits;
      got = await a.read(r, opts);
      return a.historyCacheStats().hits > before;
    },
    { what: 'a read answered from the tail' },
  );
  expect(got).toEqual(await b.read(r, opts));
  return got;
}

describe('redis engine: history from the tail of a followed partition', () => {
  it.each([['the default bound', undefined], ['a bound of about 8 messages (trimmed all the time)', 3000]])('property: every read on the following node equals the store, through appends, updates and deletes made on another node (%s)', async (_, bound) => {
    const { a, b } = await nodes(inject('redisUrl'), bound);
    type Op =
      | { kind: 'append'; bodies: (string | Uint8Array)[] }
      | { kind: 'update'; pick: number; state: string | null; body?: string; ttl?: number }
      | { kind: 'delete'; picks: number[] }
      | { kind: 'read'; pick: number | null; byTime: boolean; shiftUs: number; limit: number; order: 'ascending' | 'descending' };
    const body = fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 8 }));
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), bodies: fc.array(body, { minLength: 1, maxLength: 6 }) }),
      fc.record(
        { kind: fc.constant('update' as const), pick: fc.nat(), state: fc.option(fc.constantFrom('new', 'done')), body: fc.string({ maxLength: 5 }), ttl: fc.integer({ min: 100, max: 5000 }) },
        { requiredKeys: ['kind', 'pick', 'state'] },
      ),
      fc.record({ kind: fc.constant('delete' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
      fc.record({
        kind: fc.constant('read' as const),
        pick: fc.option(fc.nat()),
        byTime: fc.boolean(),
        shiftUs: fc.integer({ min: -2, max: 2 }),
        limit: fc.integer({ min: 1, max: 12 }),
        order: fc.constantFrom('ascending' as const, 'descending' as const),
      }),
    );
    let hits = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        const queue: QueueMeta = await freshQueue(b);
        const r = ref(queue);
        const unsubscribe = await a.subscribe(r, () => undefined);
        try {
          const stored: StoredMessage[] = [];
          const hitsBefore = a.historyCacheStats().hits;
          for (const o of ops) {
            if (o.kind === 'append') {
              stored.push(...(await b.append(queue, o.bodies.map((x) => msg(x)))));
            } else if (o.kind === 'update' && stored.length > 0) {
              const target = stored[o.pick % stored.length]!;
              await b.updateMessage(r, target.id, { clientState: o.state, ...(o.body === undefined ? {} : { body: o.body }), ...(o.ttl === undefined ? {} : { ttl: o.ttl }) });
            } else if (o.kind === 'delete' && stored.length > 0) {
              await b.deleteMessages(r, o.picks.map((p) => stored[p % stored.length]!.id));
            } else if (o.kind === 'read') {
              const at = o.pick === null || stored.length === 0 ? null : stored[o.pick % stored.length]!;
              const opts: ReadOptions = { limit: o.limit, order: o.order };
              if (at !== null) opts.since = o.byTime ? { kind: 'timestamp', seconds: (at.timestampUs + o.shiftUs) / 1e6 } : { kind: 'id', id: at.id };
              // Twice: the first read of a tail not filled (or just dropped) goes to the store and fills it.
              for (let i = 0; i < 2; i++) expect(await a.read(r, opts)).toEqual(await b.read(r, opts));
            }
          }
          hits += a.historyCacheStats().hits - hitsBefore;
        } finally {
          await unsubscribe();
        }
      }),
      { numRuns: 25 },
    );
    // The comparison above is only worth something if the tail answered.
    expect(hits).toBeGreaterThan(0);
  });

  it('an update made on another node is served updated; a delete is not served; an append waits for its announcement', async () => {
    const { a, b } = await nodes(inject('redisUrl'));
    const queue = await freshQueue(b);
    const r = ref(queue);
    const stored = await b.append(queue, [msg('a'), msg('b'), msg('c')]);
    cleanups.push(await follow(a, r));
    await readHeld(a, b, r, { limit: 10, order: 'ascending' });

    await b.updateMessage(r, stored[1]!.id, { clientState: 'done', body: 'B' });
    // The first read after the change sees a new change version: it reads the store, and the tail is filled again.
    const after = await a.read(r, { limit: 10, order: 'ascending' });
    expect(after.map((m) => [m.body, m.clientState])).toEqual([['a', undefined], ['B', 'done'], ['c', undefined]]);
    expect((await readHeld(a, b, r, { limit: 10, order: 'ascending' }))[1]!.clientState).toBe('done');

    await b.deleteMessages(r, [stored[0]!.id]);
    expect((await a.read(r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['B', 'c']);
    expect((await readHeld(a, b, r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['B', 'c']);

    const more = await b.append(queue, [msg('d')]);
    // Whether or not the announcement has come, A answers what the store holds.
    expect((await a.read(r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['B', 'c', 'd']);
    await until(async () => (await readHeld(a, b, r, { since: { kind: 'id', id: more[0]!.id }, limit: 10, order: 'ascending' })).length === 1);
  });

  it('a partition whose messages change after every read stays exact, and is not filled again at every read', async () => {
    const { a, b } = await nodes(inject('redisUrl'));
    const queue = await freshQueue(b);
    const r = ref(queue);
    const stored = await b.append(queue, Array.from({ length: 10 }, (_, i) => msg(`m${i}`)));
    cleanups.push(await follow(a, r));
    const fills = a.historyCacheStats().fills;
    for (let i = 0; i < 60; i++) {
      await b.updateMessage(r, stored[i % 10]!.id, { clientState: `s${i}` });
      const opts: ReadOptions = { limit: 10, order: 'ascending' };
      expect(await a.read(r, opts)).toEqual(await b.read(r, opts));
    }
    // Each fill is dropped by the next change before it answers: the waits double (1, 2, 4, ...).
    expect(a.historyCacheStats().fills - fills).toBeLessThan(10);
  });

  it('an expired message is never served, by the Redis clock, while the tail still holds it', async () => {
    const { a, b } = await nodes(inject('redisUrl'));
    const queue = await freshQueue(b);
    const r = ref(queue);
    await b.append(queue, [msg('long', 1, 3600), msg('short', 1, 1), msg('long2', 1, 3600)]);
    cleanups.push(await follow(a, r));
    expect((await readHeld(a, b, r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['long', 'short', 'long2']);
    const held = a.historyCacheStats().messages;
    // Until the store's clock passes its expiry (the sweeper of both nodes is idle: 60 s).
    await until(async () => (await b.read(r, { limit: 10, order: 'ascending' })).length === 2, { what: 'the store expiring it' });
    expect((await readHeld(a, b, r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['long', 'long2']);
    expect((await readHeld(a, b, r, { limit: 10, order: 'descending' })).map((m) => m.body)).toEqual(['long2', 'long']);
    expect(a.historyCacheStats().messages).toBe(held);
  });

  it('a range reaching before the tail goes to the store; the memory bound trims oldest first and shows in /metrics', async () => {
    const prefix = freshPrefix('tail');
    const url = inject('redisUrl');
    // Room for about 5 of these messages.
    const a = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, historyCacheBytes: 5 * (200 + 2 * 100) });
    const b = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, historyCacheBytes: 0 });
    await a.start();
    await b.start();
    cleanups.push(() => a.close(), () => b.close());
    const queue = await freshQueue(b);
    const r = ref(queue);
    const stored = await b.append(queue, Array.from({ length: 12 }, (_, i) => msg(`${i}`.padStart(100, '.'))));
    cleanups.push(await follow(a, r));
    expect(a.historyCacheStats().messages).toBe(5);
    expect(a.historyCacheStats().bytes).toBeLessThanOrEqual(5 * 400);
    const text = await metrics().registry.getSingleMetricAsString('holdline_history_cache_bytes');
    expect(text).toMatch(/holdline_history_cache_bytes \d+/);
    // The newest five are held; from the eighth on is a hit, from the first a miss with the same answer.
    await readHeld(a, b, r, { since: { kind: 'id', id: stored[7]!.id }, limit: 5, order: 'ascending' });
    const misses = a.historyCacheStats().misses;
    expect(await a.read(r, { since: { kind: 'id', id: stored[0]!.id }, limit: 5, order: 'ascending' })).toEqual(
      await b.read(r, { since: { kind: 'id', id: stored[0]!.id }, limit: 5, order: 'ascending' }),
    );
    expect(a.historyCacheStats().misses).toBe(misses + 1);
    // Descending past the oldest held one also needs the store.
    expect(await a.read(r, { limit: 8, order: 'descending' })).toEqual(await b.read(r, { limit: 8, order: 'descending' }));
    expect(a.historyCacheStats().misses).toBe(misses + 2);
  });

  it('the queue deleted and created again under the same name: the old tail is never served', async () => {
    const { a, b } = await nodes(inject('redisUrl'));
    const queue = await freshQueue(b);
    const r = ref(queue);
    await b.append(queue, [msg('old1'), msg('old2')]);
    cleanups.push(await follow(a, r));
    await readHeld(a, b, r, { limit: 10, order: 'ascending' });
    expect(await b.deleteQueue(queue.application, queue.name)).toBe(true);
    expect(await b.createQueue(queue)).toBe(true);
    await b.append(queue, [msg('new1')]);
    expect((await a.read(r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['new1']);
  });
});

describe('redis engine: a resync of the followed partition drops its tail', () => {
  // Its own server: killing pub/sub clients must not disturb other test files' subscribers.
  let redis: RedisServerHandle;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.port, '127.0.0.1');
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('messages appended while the subscription was cut are read from the store, then held again', async () => {
    const { a, b } = await nodes(redis.url);
    const queue = await freshQueue(b);
    const r = ref(queue);
    await b.append(queue, [msg('1'), msg('2')]);
    cleanups.push(await follow(a, r));
    await readHeld(a, b, r, { limit: 10, order: 'ascending' });
    const drops = a.historyCacheStats().drops;
    await admin.client('KILL', 'TYPE', 'pubsub');
    await b.append(queue, [msg('3'), msg('4')]);
    // Reads stay exact through the cut (from the store while the tail cannot answer).
    expect((await a.read(r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['1', '2', '3', '4']);
    await until(() => a.historyCacheStats().drops > drops, { what: 'the tail dropped by the resync' });
    await b.append(queue, [msg('5')]);
    expect((await readHeld(a, b, r, { limit: 10, order: 'ascending' })).map((m) => m.body)).toEqual(['1', '2', '3', '4', '5']);
  });
});
