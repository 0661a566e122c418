/**
 * Callbacks keep their place through a primary failover (issue 16, "through joins, leaves and
 * failovers"): two call stores (two Holdline nodes) on a real Redis Cluster with a replica per
 * primary. Random joins, leaves, priority changes, callbacks and ring-and-back (as
 * test/integration/calls-callbacks.test.ts), then the primary that owns the queue's slot is
 * SIGKILLed while a callback request and a join are in flight, then more random steps on the
 * promoted replica (the join is sent after the kill, before the replica took over). After every step (and right after the failover) the waiting line, each
 * position and each callback number equal the model's (priority desc, join order).
 *
 * Every write is answered only once a replica has it (WAIT 1), so an acknowledged step survives the
 * failover and the model stays exact. The two requests in flight at the kill may have failed
 * (not_confirmed / engine_unavailable) and may or may not have been made: the model reads them back
 * (the caller's callback, the unknown caller in the line) instead of guessing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallStore, Caller, Mutation } from '../../src/engine/call-types.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { isHoldlineError } from '../../src/errors.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { until } from '../helpers/wait.js';
import { seededRandom } from '../helpers/seeded.js';

const APP = 'acme';

interface ModelCaller {
  uuid: string;
  priority: number;
  join: number;
  status: 'waiting' | 'ringing';
  callback: string | null;
}

const UNCERTAIN = new Set(['not_confirmed', 'engine_unavailable']);
const uncertain = (err: unknown): boolean => isHoldlineError(err) && UNCERTAIN.has(err.code);

describe('callbacks keep their place through a primary failover (Redis Cluster, two nodes)', () => {
  let cluster: RedisClusterHandle;
  const stores: CallStore[] = [];
  let prefix = '';
  beforeAll(async () => {
    cluster = await startRedisCluster();
    prefix = freshPrefix('cbfail');
    for (let i = 0; i < 2; i++) stores.push(await RedisCallStore.open({ url: cluster.url, prefix }));
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await cluster?.stop();
  });

  it('positions and callback numbers equal the model before, across and after the failover', async () => {
    const [a, b] = stores as [CallStore, CallStore];
    const q = await a.createCallQueue(APP, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    const agent = await a.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await a.addMember(APP, q.uuid, { agent_uuid: agent.uuid, number: '1001', paused: false, pause_reason: null, status: 'available' });
    const queueKey = new RedisKeys(prefix).callQueue(APP, q.uuid)[0];

    const r = seededRandom(16);
    const model: ModelCaller[] = [];
    let joins = 0;
    const line = () => model.filter((c) => c.status === 'waiting').sort((x, y) => y.priority - x.priority || x.join - y.join);

    const check = async (store: CallStore, what: string) => {
      const snap = await store.snapshot(APP, q.uuid);
      const waiting = snap.callers.filter((c) => c.status === 'waiting');
      expect(waiting.map((c) => c.uuid), `${what}: the line`).toEqual(line().map((c) => c.uuid));
      for (const [i, c] of waiting.entries()) {
        expect(c.position, `${what}: position of ${c.uuid}`).toBe(i);
        expect(c.callback?.number ?? null, `${what}: callback of ${c.uuid}`).toBe(model.find((x) => x.uuid === c.uuid)!.callback);
      }
      expect(snap.callers.length, `${what}: callers`).toBe(model.length);
    };

    const step = async (n: number) => {
      const store = n % 2 === 0 ? a : b;
      const pick = r();
      const some = model[Math.floor(r() * model.length)];
      if (some === undefined || pick < 0.3) {
        const priority = Math.floor(r() * 3);
        const c = (await store.joinCaller(APP, q.uuid, { name: `c${n}`, number: `10${n}`, priority })).value;
        model.push({ uuid: c.uuid, priority, join: joins++, status: 'waiting', callback: null });
      } else if (pick < 0.5) {
        if (some.status !== 'waiting') return;
        const number = r() < 0.5 ? null : `20${n}`;
        const before = line().indexOf(some);
        const { value } = await store.requestCallback(APP, q.uuid, some.uuid, number);
        expect(value.position).toBe(before);
        some.callback = number ?? value.number;
      } else if (pick < 0.65) {
        some.priority = Math.floor(r() * 3);
        await store.updateCaller(APP, q.uuid, some.uuid, { priority: some.priority });
      } else if (pick < 0.85) {
        const status = some.status === 'waiting' ? 'ringing' : 'waiting';
        await store.updateCaller(APP, q.uuid, some.uuid, status === 'ringing' ? { status, member_uuid: agent.uuid } : { status });
        some.status = status;
      } else {
        await store.leaveCaller(APP, q.uuid, some.uuid, 'abandoned');
        model.splice(model.indexOf(some), 1);
      }
      await check(n % 2 === 0 ? b : a, `step ${n}`);
    };

    for (let n = 0; n < 50; n++) await step(n);
    // Callbacks somewhere in the line, not only at its head, before the primary dies.
    for (const c of line().slice(1, 4)) {
      if (c.callback !== null) continue;
      c.callback = `30${c.join}`;
      await a.requestCallback(APP, q.uuid, c.uuid, c.callback);
    }
    expect(line().filter((c) => c.callback !== null).length).toBeGreaterThan(0);
    await check(b, 'before the failover');

    // The kill, with a callback request sent just before it and a join sent while the slot has no
    // live owner; both are awaited only once the replica has taken over.
    const target = line().find((c) => c.callback === null)!;
    const victim = await cluster.primaryOf(queueKey);
    // Settled at once (allSettled), so a failure is not an unhandled rejection while we wait.
    const asked = Promise.allSettled([b.requestCallback(APP, q.uuid, target.uuid, '6135550016')]);
    await cluster.node(victim).kill();
    const join = Promise.allSettled([a.joinCaller(APP, q.uuid, { name: 'in-flight', number: '999', priority: 0 })]);
    await until(async () => !(await cluster.primaryPorts()).includes(victim), { what: 'a replica taking over', timeoutMs: 30_000, intervalMs: 100 });
    await cluster.waitHealthy();
    const [[callback], [joined]] = (await Promise.all([asked, join])) as [[PromiseSettledResult<Mutation<Caller>>], [PromiseSettledResult<Mutation<Caller>>]];
    expect(await cluster.primaryOf(queueKey)).not.toBe(victim);
    console.info(`callbacks failover: callback request ${callback.status}, join ${joined.status}`);

    if (callback.status === 'fulfilled') target.callback = '6135550016';
    else {
      expect(uncertain(callback.reason), String(callback.reason)).toBe(true);
      target.callback = (await a.getCaller(APP, q.uuid, target.uuid))!.callback?.number ?? null;
    }
    if (joined.status === 'fulfilled') model.push({ uuid: joined.value.value.uuid, priority: 0, join: joins++, status: 'waiting', callback: null });
    else {
      expect(uncertain(joined.reason), String(joined.reason)).toBe(true);
      const known = new Set(model.map((c) => c.uuid));
      const made = (await a.snapshot(APP, q.uuid)).callers.filter((c) => !known.has(c.uuid));
      expect(made.length).toBeLessThanOrEqual(1);
      for (const c of made) model.push({ uuid: c.uuid, priority: 0, join: joins++, status: 'waiting', callback: null });
    }
    await check(a, 'after the failover (node a)');
    await check(b, 'after the failover (node b)');

    for (let n = 50; n < 100; n++) await step(n);
    expect(model.some((c) => c.callback !== null)).toBe(true);
  }, 90_000);
});
