/**
 * What only the Redis call store has: a live feed that can drop (the subscriber connection is
 * killed: listeners get `resync`, and resuming from their seq recovers every change), and the
 * operations that span an application's slot and a queue's slot, raced from two nodes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallQueueEvent, NewCallQueue } from '../../src/engine/call-types.js';
import { CallQueueFollower } from '../helpers/call-follower.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { freshPrefix } from '../helpers/namespace.js';
import { members, routingRig } from '../helpers/routing.js';

const APP = 'acme';
const QUEUE: NewCallQueue = { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 };

describe('Redis call store', () => {
  // Its own server: killing pub/sub clients must not disturb other test files' subscribers.
  let server: RedisServerHandle;
  let admin: Redis;
  /** The hash holding each agent's call queues (keys.ts CallAppScriptKeys; an empty set is no field). */
  const agentQueues = (prefix: string): string => new RedisKeys(prefix).callApp(APP).scripts[7];
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('tells listeners to resync when the feed dropped, and resuming from their seq recovers every change', async () => {
    const prefix = freshPrefix('calls-resync');
    const [n1, n2] = [await RedisCallStore.open({ url: server.url, prefix }), await RedisCallStore.open({ url: server.url, prefix })];
    const queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    const view = new CallQueueFollower(await n1.snapshot(APP, queue));
    const events: CallQueueEvent[] = [];
    let wake: () => void = () => undefined;
    const next = (pred: () => boolean) =>
      new Promise<void>((resolve) => {
        wake = () => {
          if (pred()) resolve();
        };
        wake();
      });
    const unsubscribe = await n1.subscribeQueue(APP, queue, (e) => {
      events.push(e);
      if (e.type === 'change') view.apply(e.change);
      wake();
    });
    await n2.joinCaller(APP, queue, { name: 'a', number: '1', priority: 0 });
    await next(() => view.seq === 1);

    await admin.client('KILL', 'TYPE', 'pubsub');
    // Changes made while the feed is down may not be delivered live...
    for (let i = 0; i < 5; i++) await n2.joinCaller(APP, queue, { name: `b${i}`, number: '1', priority: i });
    await next(() => events.some((e) => e.type === 'resync'));
    expect(events.filter((e) => e.type === 'resync')).toHaveLength(1);
    // ...but resuming from the view's seq gives them, in order, without a gap.
    for (const c of (await n1.changesSince(APP, queue, view.seq))!) expect(view.apply(c)).toMatch(/applied|stale/);
    const snap = await n2.snapshot(APP, queue);
    expect(view.seq).toBe(snap.seq);
    expect(view.orderedCallers()).toEqual(snap.callers);
    // And the live feed is back: the next change reaches the same listener.
    await n2.joinCaller(APP, queue, { name: 'c', number: '1', priority: 9 });
    await next(() => view.seq === snap.seq + 1);
    expect(view.orderedCallers()).toEqual((await n2.snapshot(APP, queue)).callers);
    await unsubscribe();
    await Promise.all([n1.close(), n2.close()]);
  });

  it('never leaves a member whose agent is deleted, at any point of adding it', async () => {
    const prefix = freshPrefix('calls-race');
    const n1 = await RedisCallStore.open({ url: server.url, prefix });
    const member = (agent: string) => ({ agent_uuid: agent, number: '1001@example.org', paused: false, pause_reason: null, status: 'available' as const });
    const queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    for (const point of ['afterAgentLink', 'afterMemberAdd'] as const) {
      const agent = (await n1.createAgent(APP, { name: point, project_id: null, user_id: null })).uuid;
      const n2 = await RedisCallStore.open({ url: server.url, prefix, interleave: { [point]: () => n1.deleteAgent(APP, agent) } });
      await expect(n2.addMember(APP, queue, member(agent))).rejects.toMatchObject({ code: 'agent_not_found' });
      expect(await n1.getMember(APP, queue, agent)).toBeNull();
      expect(await admin.hexists(agentQueues(prefix), agent)).toBe(0);
      await n2.close();
    }
    // Unraced, concurrently from two nodes: whichever wins, no member outlives its agent.
    const n2 = await RedisCallStore.open({ url: server.url, prefix });
    for (let i = 0; i < 20; i++) {
      const agent = (await n1.createAgent(APP, { name: `a${i}`, project_id: null, user_id: null })).uuid;
      const [, deleted] = await Promise.allSettled([n2.addMember(APP, queue, member(agent)), n1.deleteAgent(APP, agent)]);
      expect(deleted.status).toBe('fulfilled');
      expect(await n1.getMember(APP, queue, agent)).toBeNull();
    }
    expect(await n1.listMembers(APP, queue)).toEqual([]);
    await Promise.all([n1.close(), n2.close()]);
  });

  it('leaves no membership index behind a queue deleted while a member is added', async () => {
    const prefix = freshPrefix('calls-race');
    const n1 = await RedisCallStore.open({ url: server.url, prefix });
    const agent = (await n1.createAgent(APP, { name: 'a', project_id: null, user_id: null })).uuid;
    let queue = '';
    const n2 = await RedisCallStore.open({ url: server.url, prefix, interleave: { afterAgentLink: async () => void (await n1.deleteCallQueue(APP, queue)) } });
    queue = (await n1.createCallQueue(APP, QUEUE)).uuid;
    await expect(
      n2.addMember(APP, queue, { agent_uuid: agent, number: '1001@example.org', paused: false, pause_reason: null, status: 'available' }),
    ).rejects.toMatchObject({ code: 'call_queue_not_found' });
    expect(await n1.listCallQueues(APP)).toEqual([]);
    expect(JSON.parse((await admin.hget(agentQueues(prefix), agent)) ?? '[]')).toEqual([]);
    await Promise.all([n1.close(), n2.close()]);
  });

  it('deletes a queue\'s routing state with it: no key of its slot is left', async () => {
    const prefix = freshPrefix('calls-delete-routing');
    const store = await RedisCallStore.open({ url: server.url, prefix });
    const rig = routingRig(store);
    const queue = (await rig.calls.createQueue(APP, { name: 'q' })).uuid;
    await rig.routing.putSettings(APP, queue, { strategy: 'linear' });
    await members(rig, APP, queue, [{ name: 'a', penalty: 1 }]);
    await rig.calls.joinCaller(APP, queue, { number: '1' });
    const slot = `{${prefix}:c:${APP}:${queue}}`;
    // Settings and tiers, an open offer and its deadline: routing's three keys exist.
    expect((await rig.routing.listOffers(APP, queue)).length).toBe(1);
    expect((await admin.keys(`${slot}:*`)).sort()).toEqual(expect.arrayContaining([`${slot}:offers`, `${slot}:rdue`, `${slot}:routing`]));
    await rig.calls.deleteQueue(APP, queue);
    expect(await admin.keys(`${slot}:*`)).toEqual([]);
    expect(rig.errors).toEqual([]);
    await store.close();
  });
});
