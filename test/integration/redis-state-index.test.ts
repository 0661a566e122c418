/**
 * On Redis a filtered read must not scan the partition (SPEC.md 3.5): on a partition of 100,000
 * messages, each filtered read touches about as many index entries as it returns. Counted two
 * ways: read-filtered-8.lua's own count of the index entries it fetched (RedisEngine.indexEntriesRead,
 * ids taken into the indexes included), and Redis's INFO commandstats on a redis-server of this
 * test alone: one script call per partition read (plus the HMGET of the records it picked), a few
 * commands in all, none per stored message.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { MessageFilter, QueueMeta, ReadOptions, StoredMessage } from '../../src/engine/types.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

const SIZE = 100_000;

/**
 * Calls per command since the last CONFIG RESETSTAT (commands run inside a script count too), less
 * the test's own CONFIG and INFO.
 */
async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('redis engine: filtered reads cost what they return (100,000-message partition)', () => {
  let server: RedisServerHandle;
  let engine: RedisEngine;
  let admin: Redis;
  let queue: QueueMeta;
  const stored: StoredMessage[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    engine = new RedisEngine({ url: server.url, prefix: freshPrefix('idx'), sweepIntervalMs: 60_000 });
    await engine.start();
    admin = new Redis(server.url);
    queue = await freshQueue(engine);
    for (let i = 0; i < SIZE; i += 1000) stored.push(...(await engine.append(queue, Array.from({ length: 1000 }, (_, j) => msg(`m${i + j}`)))));
    // Every 500th message done, every 1000th (offset 250) failed; the first change takes the
    // 100,000 appended ids into the indexes (once, in calls of INDEX_CATCH_UP_MAX).
    for (let i = 0; i < SIZE; i += 500) await engine.changeState(ref(queue), stored[i]!.id, { clientState: 'done' });
    for (let i = 250; i < SIZE; i += 1000) await engine.changeState(ref(queue), stored[i]!.id, { clientState: 'failed' });
  }, 240_000);

  afterAll(async () => {
    admin.disconnect();
    await engine?.close();
    await server?.stop();
  });

  /** The read's answer, the index entries it touched, and the commands it sent. */
  async function measured(filter: MessageFilter, opts: Partial<ReadOptions> = {}) {
    // The setup's state changes relayed to the event log first: no other traffic in the count.
    await engine.events.flush();
    await admin.config('RESETSTAT');
    const before = engine.indexEntriesRead;
    const out = await engine.read(ref(queue), { limit: 100, order: 'ascending', filter, ...opts });
    const calls = await commandCalls(admin);
    for (const own of ['config', 'config|resetstat', 'info']) delete calls[own];
    // EVAL once when the script is not yet cached on this server, then EVALSHA.
    const scripts = (calls.evalsha ?? 0) + (calls.eval ?? 0);
    const commands = Object.values(calls).reduce((a, b) => a + b, 0);
    return { out, touched: engine.indexEntriesRead - before, scripts, commands };
  }

  /** One script call from the engine, running a handful of commands: none per stored message. */
  function expectOneScript(r: { scripts: number; commands: number }): void {
    expect(r.scripts).toBeLessThanOrEqual(2);
    expect(r.commands).toBeLessThan(30);
  }

  it('stores the partition', async () => {
    expect(await engine.count(ref(queue))).toBe(SIZE);
  });

  it('by state: 100 of 200 done messages, touching about 100 entries in one script call', async () => {
    const r = await measured({ states: ['done'] });
    expect(r.out.map((m) => m.id)).toEqual(stored.filter((_, i) => i % 500 === 0).slice(0, 100).map((m) => m.id));
    expect(r.touched).toBeLessThanOrEqual(101);
    expectOneScript(r);
  });

  it('unset (none) from a cursor deep in the partition, descending: about 100 entries', async () => {
    const r = await measured({ states: [null] }, { since: { kind: 'id', id: stored[60_000]!.id }, order: 'descending' });
    const expected = stored.slice(0, 60_001).reverse().filter((_, j) => { const i = 60_000 - j; return i % 500 !== 0 && i % 1000 !== 250; }).slice(0, 100);
    expect(r.out.map((m) => m.id)).toEqual(expected.map((m) => m.id));
    expect(r.touched).toBeLessThanOrEqual(101);
    expectOneScript(r);
  });

  it('two states with an update window: about as many entries as the states hold in range', async () => {
    const failed = stored.filter((_, i) => i % 1000 === 250);
    const since = (await engine.getMessage(ref(queue), failed[50]!.id))!.updatedAtUs!;
    const r = await measured({ states: ['failed', 'done'], updatedSinceUs: since }, { limit: 20 });
    expect(r.out.map((m) => m.id)).toEqual(failed.slice(50, 70).map((m) => m.id));
    // The window (50 entries) is smaller than the two states (300): it leads, states are checked.
    expect(r.touched).toBe(50);
    expectOneScript(r);
  });

  it('by update window alone: the window entries, not the partition', async () => {
    const failed = stored.filter((_, i) => i % 1000 === 250);
    const since = (await engine.getMessage(ref(queue), failed[90]!.id))!.updatedAtUs!;
    const r = await measured({ updatedSinceUs: since });
    expect(r.out.map((m) => m.id)).toEqual(failed.slice(90).map((m) => m.id));
    expect(r.touched).toBe(10);
  });

  it('replies of a message, including ids appended since the last catch-up: about the answer plus the new ids', async () => {
    const parent = stored[12_345]!;
    const replies = await engine.append(queue, Array.from({ length: 30 }, (_, i) => msg(`reply ${i}`, 1, 3600, { inReplyTo: parent.id })));
    const r = await measured({ inReplyTo: parent.id });
    expect(r.out.map((m) => m.id)).toEqual(replies.map((m) => m.id));
    expect(r.touched).toBeLessThanOrEqual(30 + 30 + 1);
    expectOneScript(r);
  });
});
