/**
 * A join on Redis in one round trip (routing.md section 9, "The estimate at join"): the join script
 * finds the place the caller takes before its first write and stores the estimate the node's window
 * holds for it (lua/includes/call-join-window.lua); a place outside the window writes nothing and the
 * node counts the line and joins as before. On a real Redis: the script takes the very entry of its
 * place (distinct values per place, of different widths), and a join through the service stores the
 * same text the two-trip path stores for the same place, in its window and out of it.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { CallService } from '../../src/domain/calls/service.js';
import type { CallStore, JoinWindow, NewCaller } from '../../src/engine/call-types.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { freshPrefix } from '../helpers/namespace.js';

const APP = 'acme';
const caller = (i: number, priority = 0): NewCaller => ({ name: '', number: `61355${String(i).padStart(4, '0')}`, priority });

/** A marker per place: distinct, of different text widths, null at every seventh from 3. */
const marker = (place: number): number | null => (place % 7 === 3 ? null : Math.round((place * 13.7 + (place % 3) * 1000) * 10) / 10);
/** The stored text of place's marker (none for null). */
const markerText = (place: number): string | undefined => {
  const m = marker(place);
  return m === null ? undefined : String(m);
};
const windowAt = (lo: number, hi: number): JoinWindow => ({ lo, estimates: Array.from({ length: hi - lo + 1 }, (_, i) => marker(lo + i)) });

describe('a Redis join picks its estimate in its window', () => {
  let store: RedisCallStore;
  let redis: Redis;
  let keys: RedisKeys;

  beforeEach(async () => {
    const prefix = freshPrefix('joinwin');
    store = await RedisCallStore.open({ url: inject('redisUrl'), prefix });
    redis = new Redis(inject('redisUrl'));
    keys = new RedisKeys(prefix);
  });
  afterEach(async () => {
    redis.disconnect();
    await store.close();
  });

  /** The estimated_wait in the caller's stored JSON, as text (undefined: none). */
  async function stored(queue: string, uuid: string): Promise<string | undefined> {
    const raw = await redis.hget(keys.callQueue(APP, queue)[2], uuid);
    expect(raw).not.toBeNull();
    return /"estimated_wait":([^,}]+)/.exec(raw!)?.[1];
  }

  it("stores the window's entry for the place it gives, and writes nothing outside the window", async () => {
    const svc = new CallService(store);
    const q = (await svc.createQueue(APP, { name: 'support' })).uuid;
    for (let i = 0; i < 40; i++) await store.joinCaller(APP, q, caller(i));
    const line = keys.callQueue(APP, q)[3];

    for (let place = 40; place < 50; place++) {
      const joined = await store.joinCallerInWindow(APP, q, caller(place), windowAt(30, 60));
      expect(joined).not.toBeNull();
      expect(joined!.value.position).toBe(place);
      expect(await stored(q, joined!.value.uuid), `place ${place}`).toBe(markerText(place));
    }
    // The node's own estimate does not ride along: the window's is the one kept.
    const own = await store.joinCallerInWindow(APP, q, { ...caller(50), estimated_wait: 1 }, windowAt(45, 52));
    expect(own!.value.position).toBe(50);
    expect(await stored(q, own!.value.uuid)).toBe(markerText(50));

    // Outside: before the window (a priority caller goes first), past its end. Nothing written.
    const before = { seq: (await store.snapshot(APP, q)).seq, length: await redis.zcard(line), joinseq: await redis.hget(keys.callQueue(APP, q)[0], 'joinseq') };
    expect(await store.joinCallerInWindow(APP, q, caller(90, 2), windowAt(1, 60))).toBeNull();
    expect(await store.joinCallerInWindow(APP, q, caller(91), windowAt(20, 50))).toBeNull();
    expect(await store.joinCallerInWindow(APP, q, caller(92), windowAt(52, 60))).toBeNull();
    expect({ seq: (await store.snapshot(APP, q)).seq, length: await redis.zcard(line), joinseq: await redis.hget(keys.callQueue(APP, q)[0], 'joinseq') }).toEqual(before);

    // The window's ends are inside: the first place and the last.
    const first = await store.joinCallerInWindow(APP, q, caller(93, 2), windowAt(0, 4));
    expect(first!.value.position).toBe(0);
    expect(await stored(q, first!.value.uuid)).toBe(markerText(0));
    const last = await store.joinCallerInWindow(APP, q, caller(94), windowAt(40, 52));
    expect(last!.value.position).toBe(52);
    expect(await stored(q, last!.value.uuid)).toBe(markerText(52));
    // A null entry: no estimate kept (place 52's marker; 45's was checked above too).
    expect(markerText(52)).toBeUndefined();
  });

  it('a disabled or missing queue is refused as before', async () => {
    const svc = new CallService(store);
    const q = (await svc.createQueue(APP, { name: 'support' })).uuid;
    await svc.updateQueue(APP, q, { disabled: true });
    await expect(store.joinCallerInWindow(APP, q, caller(1), windowAt(0, 3))).rejects.toMatchObject({ code: 'queue_disabled' });
    await expect(store.joinCallerInWindow(APP, '00000000-0000-4000-8000-000000000000', caller(1), windowAt(0, 3))).rejects.toMatchObject({ code: 'call_queue_not_found' });
  });

  it('a join through the service stores what the two-trip path stores, in its window and out of it', async () => {
    const calls = { inWindow: 0, outside: 0, counts: 0 };
    /** The store, counting its joins in a window and its counts of the line; `twoTrip`: without joinCallerInWindow. */
    const view = (twoTrip: boolean): CallStore =>
      new Proxy(store, {
        get(target, p) {
          if (p === 'joinCallerInWindow') {
            if (twoTrip) return undefined;
            return async (...args: Parameters<RedisCallStore['joinCallerInWindow']>) => {
              const r = await target.joinCallerInWindow(...args);
              if (r === null) calls.outside++;
              else calls.inWindow++;
              return r;
            };
          }
          if (p === 'waitingAtOrAbove' && !twoTrip) {
            return (...args: Parameters<RedisCallStore['waitingAtOrAbove']>) => {
              calls.counts++;
              return target.waitingAtOrAbove(...args);
            };
          }
          const v = Reflect.get(target, p, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    const oneTrip = new CallService(view(false));
    const twoTrip = new CallService(view(true));

    // One member free, four busy (H: 180 s, no call ended): every place from 1 has its own figure,
    // and none moves as time passes.
    async function queueOf(svc: CallService): Promise<string> {
      const q = (await svc.createQueue(APP, { name: 'support' })).uuid;
      for (let i = 0; i < 5; i++) {
        const agent = (await svc.createAgent(APP, { name: `agent-${i}` })).uuid;
        await svc.addMember(APP, q, { agent_id: agent, number: `100${i}` });
        if (i > 0) await svc.updateMember(APP, q, agent, { status: 'busy' });
      }
      return q;
    }
    const qa = await queueOf(oneTrip);
    const qb = await queueOf(twoTrip);

    // 45 callers, then one with a priority (place 0: outside the window around 44), then one more
    // (place 46: outside the window around 0), then more in the window again.
    const plan = [...Array.from({ length: 45 }, () => 0), 3, ...Array.from({ length: 8 }, () => 0)];
    const got: (string | undefined)[] = [];
    const want: (string | undefined)[] = [];
    for (const [i, priority] of plan.entries()) {
      const a = await oneTrip.joinCaller(APP, qa, caller(i, priority));
      const b = await twoTrip.joinCaller(APP, qb, caller(i, priority));
      expect(a.value.position).toBe(b.value.position);
      got.push(await stored(qa, a.value.uuid));
      want.push(await stored(qb, b.value.uuid));
    }
    expect(got).toEqual(want);
    expect(new Set(want).size).toBeGreaterThan(45);
    expect(want.every((w) => w !== undefined)).toBe(true);
    // The first join counts (no place known yet), two fall outside and count; the rest in one trip.
    expect(calls).toEqual({ inWindow: plan.length - 3, outside: 2, counts: 3 });
  });
});
