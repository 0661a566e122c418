/**
 * Queue statistics as protocol/calls.md "Stats" defines them, on both call stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallQueue, CallStore, NewMember } from '../../src/engine/call-types.js';
import { callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';

describe.each(callStoreFactories)('call queue stats ($name store)', (factory) => {
  let store: CallStore;
  let queue: CallQueue;
  beforeEach(async () => {
    store = await factory.open();
    queue = await store.createCallQueue(APP, {
      name: 'support', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 3600,
    });
  });
  afterEach(async () => {
    await store.close();
  });

  const join = async (name: string) => (await store.joinCaller(APP, queue.uuid, { name, number: '100', priority: 0 })).value;
  const addMember = async (name: string, extra: Partial<NewMember>) => {
    const a = await store.createAgent(APP, { name, project_id: null, user_id: null });
    await store.addMember(APP, queue.uuid, {
      agent_uuid: a.uuid, number: '1001@example.org', paused: false, pause_reason: null, status: 'available', ...extra,
    });
    return a.uuid;
  };

  it('starts empty', async () => {
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({
      callers: 0, callers_waiting: 0, callers_ringing: 0, callers_connected: 0, longest_wait: 0, oldest_wait_since: null,
      members: 0, members_logged_in: 0, members_available: 0, members_paused: 0,
      completed: 0, abandoned: 0, timed_out: 0, transferred: 0, average_wait: null, service_level: null,
      service_level_seconds: 3600,
    });
    expect(await store.getStats(APP, '00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('counts members: logged in, available (not paused), paused (logged in only)', async () => {
    await addMember('available', {});
    await addMember('paused', { paused: true, pause_reason: 'break' });
    await addMember('busy', { status: 'busy' });
    await addMember('wrapup-paused', { status: 'wrapup', paused: true });
    const out = await addMember('logged-out-paused', { status: 'logged_out', paused: true });
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({
      members: 5, members_logged_in: 4, members_available: 1, members_paused: 2,
    });
    await store.updateMember(APP, queue.uuid, out, { status: 'available' });
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({ members_logged_in: 5, members_available: 1, members_paused: 3 });
    await store.updateMember(APP, queue.uuid, out, { paused: false });
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({ members_available: 2, members_paused: 2 });
    await store.removeMember(APP, queue.uuid, out);
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({ members: 4, members_logged_in: 4, members_available: 1, members_paused: 2 });
  });

  it('counts callers by status; the longest wait is over unanswered (waiting or ringing) callers', async () => {
    const agent = await addMember('alice', {});
    const first = await join('first');
    const second = await join('second');
    const third = await join('third');
    await store.updateCaller(APP, queue.uuid, first.uuid, { status: 'connected', member_uuid: agent });
    await store.updateCaller(APP, queue.uuid, second.uuid, { status: 'ringing', member_uuid: agent });
    const s = (await store.getStats(APP, queue.uuid))!;
    expect(s).toMatchObject({ callers: 3, callers_waiting: 1, callers_ringing: 1, callers_connected: 1 });
    expect(s.oldest_wait_since).toBe(second.created_at);
    expect(s.longest_wait).toBeCloseTo((Date.parse(s.at) - Date.parse(second.created_at)) / 1000, 3);
    await store.leaveCaller(APP, queue.uuid, second.uuid, 'abandoned');
    expect((await store.getStats(APP, queue.uuid))!.oldest_wait_since).toBe(third.created_at);
    await store.leaveCaller(APP, queue.uuid, third.uuid, 'timeout');
    expect(await store.getStats(APP, queue.uuid)).toMatchObject({ callers: 1, callers_connected: 1, oldest_wait_since: null, longest_wait: 0 });
  });

  it('counts leave reasons; service level = answered within threshold / (answered + abandoned + timeout)', async () => {
    const reasons = ['answered', 'answered', 'abandoned', 'timeout', 'transferred'] as const;
    const started = Date.now();
    for (const [i, reason] of reasons.entries()) {
      const c = await join(`c${i}`);
      await store.leaveCaller(APP, queue.uuid, c.uuid, reason);
    }
    const s = (await store.getStats(APP, queue.uuid))!;
    expect(s).toMatchObject({ callers: 0, completed: 2, abandoned: 1, timed_out: 1, transferred: 1, service_level: 0.5 });
    expect(s.average_wait).toBeGreaterThanOrEqual(0);
    expect(s.average_wait!).toBeLessThanOrEqual((Date.now() - started) / 1000);
  });

  it('measures an answered wait up to the connection, and counts it within the threshold or not', async () => {
    await store.updateCallQueue(APP, queue.uuid, { service_level_seconds: 1 });
    const agent = await addMember('alice', {});
    const quick = await join('quick');
    const slow = await join('slow');
    await store.updateCaller(APP, queue.uuid, quick.uuid, { status: 'connected', member_uuid: agent });
    // Let more than the 1 s threshold pass (a time limit, not a synchronisation).
    await new Promise((r) => setTimeout(r, 1100));
    const quickLeft = (await store.leaveCaller(APP, queue.uuid, quick.uuid, 'answered')).change;
    const slowLeft = (await store.leaveCaller(APP, queue.uuid, slow.uuid, 'answered')).change;
    // quick waited until it was connected (well under 1 s), though it left after the pause.
    expect(quickLeft.kind === 'caller_left' && quickLeft.wait).toBeLessThan(1);
    expect(slowLeft.kind === 'caller_left' && slowLeft.wait).toBeGreaterThan(1);
    const s = (await store.getStats(APP, queue.uuid))!;
    expect(s).toMatchObject({ completed: 2, service_level: 0.5, service_level_seconds: 1 });
    const waits = [quickLeft, slowLeft].map((c) => (c.kind === 'caller_left' ? c.wait : 0));
    expect(s.average_wait).toBeCloseTo((waits[0]! + waits[1]!) / 2, 2);
  });

  it('puts the stats after each change into its event', async () => {
    const c = await store.joinCaller(APP, queue.uuid, { name: 'x', number: '100', priority: 0 });
    expect(c.change).toMatchObject({ stats: { callers: 1, callers_waiting: 1 } });
    const left = (await store.leaveCaller(APP, queue.uuid, c.value.uuid, 'abandoned')).change;
    expect(left).toMatchObject({ stats: { callers: 0, abandoned: 1, service_level: 0 } });
  });
});
