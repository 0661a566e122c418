/**
 * The Redis store's wallboard counters (lua/includes/call-wallboard.lua): a change writes its
 * minute's counters only, and the first change of a later minute folds the minutes older than an
 * hour into their quarter hours, so the windows read the same before and after the fold; the
 * layouts written by earlier versions (minute counters or vectors counted in their quarters too)
 * are read and pruned as before.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { buildWallboard, MINUTE_MS, QUARTER_MS } from '../../src/engine/wallboard.js';
import { freshPrefix } from '../helpers/namespace.js';

const APP = 'acme';

describe('wallboard counters on Redis', () => {
  const closing: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  it('a change writes its minute only; a later minute folds minutes past the hour into quarters, windows unchanged', async () => {
    const prefix = freshPrefix('wallboard-fold');
    const store = await RedisCallStore.open({ url: inject('redisUrl'), prefix });
    closing.push(() => store.close());
    const redis = new Redis(inject('redisUrl'));
    closing.push(() => redis.disconnect());
    const q = await store.createCallQueue(APP, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 30 });
    const meta = new RedisKeys(prefix).callQueue(APP, q.uuid)[0];

    const first = await store.joinCaller(APP, q.uuid, { name: '', number: '1', priority: 0 });
    const m = Math.floor(Date.parse(first.value.created_at) / MINUTE_MS);
    const counters = async () => Object.fromEntries(Object.entries(await redis.hgetall(meta)).filter(([f]) => /^w[mnq]:/.test(f)));
    expect(await counters()).toEqual({ [`wn:${m}:0`]: '1' });
    await store.leaveCaller(APP, q.uuid, first.value.uuid, 'abandoned');
    // abandoned, abandoned_within: two counters of the minute, no quarter written.
    expect(await counters()).toEqual({ [`wn:${m}:0`]: '1', [`wn:${m}:2`]: '1', [`wn:${m}:6`]: '1' });

    // Earlier minutes, as the store would have left them: one 61 minutes back (past the hour, not
    // folded yet), one 30 back; and the earlier layouts' minute (already in its quarter), all
    // opened before the current minute.
    const old = m - 61;
    const oldQuarter = Math.floor((old * MINUTE_MS) / QUARTER_MS);
    await redis.hset(meta, `wn:${old}:0`, '5', `wn:${old}:2`, '2', `wn:${m - 30}:0`, '3', `wm:${m - 62}:0`, '4', `wq:${oldQuarter}:0`, '4', 'wb', String(m - 1));
    const before = (await store.readWallboard(APP, q.uuid))!;

    // The first change of a new minute (wb names an earlier one) folds and prunes.
    const second = await store.joinCaller(APP, q.uuid, { name: '', number: '2', priority: 0 });
    const m2 = Math.floor(Date.parse(second.value.created_at) / MINUTE_MS);
    const after = await counters();
    expect(after[`wn:${old}:0`]).toBeUndefined();
    expect(after[`wn:${old}:2`]).toBeUndefined();
    expect(after[`wm:${m - 62}:0`]).toBeUndefined();
    expect(after[`wq:${oldQuarter}:0`]).toBe('9');
    expect(after[`wq:${oldQuarter}:2`]).toBe('2');
    expect(after[`wn:${m - 30}:0`]).toBe('3');
    expect(after[`wn:${m2}:0`]).toBe(m2 === m ? '2' : '1');
    expect(await redis.hget(meta, 'wb')).toBe(String(m2));

    // The windows: the same counts as before the fold, plus the second join.
    const read = (await store.readWallboard(APP, q.uuid))!;
    for (const w of ['15m', '1h', 'today'] as const) {
      const was = buildWallboard(before, w, 'UTC').window;
      const now = buildWallboard(read, w, 'UTC').window;
      if (m2 === m) expect(now.offered).toBe(was.offered + 1);
      expect(now.abandoned).toBe(was.abandoned);
    }
    // 1h: the two joins and the minute 30 back, not the folded one 61 back.
    expect(buildWallboard(read, '1h', 'UTC').window.offered).toBe(5);
  });
});
