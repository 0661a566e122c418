/**
 * Waiting-line positions, change events and resume, on both call stores (protocol/calls.md
 * "Positions", websocket.md 5.3): every change carries the seq and the line move that keeps a
 * follower's line exact.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallQueue, CallQueueChange, CallStore, NewCallQueue } from '../../src/engine/call-types.js';
import { isHoldlineError } from '../../src/errors.js';
import { Follower, callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';
const QUEUE: NewCallQueue = {
  name: 'support', description: '24/7 Technical support', disabled: false, project_id: null, user_id: null, service_level_seconds: 20,
};

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isHoldlineError(err)) return err.field === undefined ? err.code : `${err.code}:${err.field}`;
    throw err;
  }
  return 'ok';
}

describe.each(callStoreFactories)('call positions ($name store)', (factory) => {
  let store: CallStore;
  let queue: CallQueue;
  const stores: CallStore[] = [];

  beforeEach(async () => {
    store = await factory.open();
    stores.push(store);
    queue = await store.createCallQueue(APP, QUEUE);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  const join = async (name: string, priority = 0) =>
    (await store.joinCaller(APP, queue.uuid, { name, number: '6135551234', priority })).value.uuid;
  const line = async () => (await store.snapshot(APP, queue.uuid)).callers.filter((c) => c.status === 'waiting').map((c) => c.name);

  it('orders waiting callers by priority, then join order, with 0-based positions', async () => {
    const changes: CallQueueChange[] = [];
    for (const [name, priority] of [['a', 0], ['b', 0], ['c', 5], ['d', 0], ['e', 5]] as const) {
      const m = await store.joinCaller(APP, queue.uuid, { name, number: '1001@example.org', priority });
      changes.push(m.change!);
    }
    expect(await line()).toEqual(['c', 'e', 'a', 'b', 'd']);
    expect(changes.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(changes.map((c) => (c.kind === 'caller_joined' ? [c.line.from, c.line.to, c.line.length] : null))).toEqual([
      [null, 0, 1], [null, 1, 2], [null, 0, 3], [null, 3, 4], [null, 1, 5],
    ]);
    const snap = await store.snapshot(APP, queue.uuid);
    expect(snap.callers.map((c) => c.position)).toEqual([0, 1, 2, 3, 4]);
    expect(snap.seq).toBe(5);
    for (const c of snap.callers) expect((await store.getCaller(APP, queue.uuid, c.uuid))?.position).toBe(c.position);
  });

  it('moves everyone behind a leaving caller up by one', async () => {
    const ids = [await join('a'), await join('b'), await join('c'), await join('d')];
    const { change } = await store.leaveCaller(APP, queue.uuid, ids[1]!, 'abandoned');
    expect(change).toMatchObject({ kind: 'caller_left', reason: 'abandoned', seq: 5, line: { uuid: ids[1], from: 1, to: null, length: 3 } });
    expect(await line()).toEqual(['a', 'c', 'd']);
    expect((await store.getCaller(APP, queue.uuid, ids[3]!))?.position).toBe(2);
    expect(await code(store.leaveCaller(APP, queue.uuid, ids[1]!, 'abandoned'))).toBe('caller_not_found');
  });

  it('moves a caller on a priority change and keeps join order among equal priorities', async () => {
    const [a, b, c] = [await join('a'), await join('b'), await join('c')];
    const up = await store.updateCaller(APP, queue.uuid, c, { priority: 3 });
    expect(up.value.position).toBe(0);
    expect(up.change).toMatchObject({ kind: 'caller_updated', changed: ['priority'], line: { from: 2, to: 0, length: 3 } });
    expect(await line()).toEqual(['c', 'a', 'b']);
    // Back to 0: behind a and b? No: it joined last, so it returns to the end among priority 0.
    await store.updateCaller(APP, queue.uuid, c, { priority: 0 });
    expect(await line()).toEqual(['a', 'b', 'c']);
    // a drops below b: a joined first, but priority decides first.
    await store.updateCaller(APP, queue.uuid, a, { priority: -1 });
    expect(await line()).toEqual(['b', 'c', 'a']);
    const same = await store.updateCaller(APP, queue.uuid, b, { priority: 0 });
    expect(same.change).toBeNull();
    expect((await store.snapshot(APP, queue.uuid)).seq).toBe(6);
  });

  it('takes ringing and connected callers out of the line and puts a caller back at its place', async () => {
    const agent = await store.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await store.addMember(APP, queue.uuid, { agent_uuid: agent.uuid, number: '1001@example.org', paused: false, pause_reason: null, status: 'available' });
    const [a, b, c] = [await join('a'), await join('b'), await join('c')];
    const ring = await store.updateCaller(APP, queue.uuid, a, { status: 'ringing', member_uuid: agent.uuid });
    expect(ring.value).toMatchObject({ status: 'ringing', position: null, member_uuid: agent.uuid });
    expect(ring.change).toMatchObject({ changed: ['status', 'member_uuid'], line: { uuid: a, from: 0, to: null, length: 2 } });
    expect((await store.getCaller(APP, queue.uuid, b))?.position).toBe(0);
    // No answer: back to waiting, at the front again (it joined first), member cleared.
    const back = await store.updateCaller(APP, queue.uuid, a, { status: 'waiting' });
    expect(back.value).toMatchObject({ status: 'waiting', position: 0, member_uuid: null });
    expect(back.change).toMatchObject({ line: { from: null, to: 0, length: 3 } });
    const conn = await store.updateCaller(APP, queue.uuid, c, { status: 'connected', member_uuid: agent.uuid });
    expect(conn.change).toMatchObject({ line: { from: 2, to: null, length: 2 } });
    const snap = await store.snapshot(APP, queue.uuid);
    expect(snap.callers.map((x) => [x.name, x.status, x.position])).toEqual([
      ['a', 'waiting', 0], ['b', 'waiting', 1], ['c', 'connected', null],
    ]);
    // A connected caller leaving does not move the line.
    const left = (await store.leaveCaller(APP, queue.uuid, c, 'answered')).change;
    expect(left.kind === 'caller_left' && left.line).toBeUndefined();
  });

  it('refuses forbidden status changes and changes nothing', async () => {
    const agent = await store.createAgent(APP, { name: 'bob', project_id: null, user_id: null });
    await store.addMember(APP, queue.uuid, { agent_uuid: agent.uuid, number: '1002@example.org', paused: false, pause_reason: null, status: 'available' });
    const outsider = await store.createAgent(APP, { name: 'eve', project_id: null, user_id: null });
    const a = await join('a');
    const before = await store.snapshot(APP, queue.uuid);
    expect(await code(store.updateCaller(APP, queue.uuid, a, { status: 'ringing' }))).toBe('missing_field:member_uuid');
    expect(await code(store.updateCaller(APP, queue.uuid, a, { status: 'ringing', member_uuid: outsider.uuid }))).toBe('member_not_found:member_uuid');
    expect(await code(store.updateCaller(APP, queue.uuid, a, { member_uuid: agent.uuid }))).toBe('invalid_field:member_uuid');
    expect(await code(store.updateCaller(APP, queue.uuid, a, { priority: 9, status: 'ringing' }))).toBe('missing_field:member_uuid');
    expect(await store.snapshot(APP, queue.uuid)).toEqual({ ...before, stats: { ...before.stats, longest_wait: expect.any(Number), at: expect.any(String) } });
    await store.updateCaller(APP, queue.uuid, a, { status: 'connected', member_uuid: agent.uuid });
    expect(await code(store.updateCaller(APP, queue.uuid, a, { status: 'waiting' }))).toBe('invalid_transition:status');
    expect(await code(store.updateCaller(APP, queue.uuid, a, { status: 'ringing' }))).toBe('invalid_transition:status');
    expect((await store.snapshot(APP, queue.uuid)).seq).toBe(before.seq + 1);
  });

  it('refuses joins to a disabled queue and to an unknown queue', async () => {
    const off = await store.updateCallQueue(APP, queue.uuid, { disabled: true });
    expect(off.change).toMatchObject({ kind: 'queue_updated', changed: ['disabled'], seq: 1 });
    expect(await code(store.joinCaller(APP, queue.uuid, { name: 'x', number: '1', priority: 0 }))).toBe('queue_disabled');
    expect(await code(store.joinCaller(APP, '00000000-0000-4000-8000-000000000000', { name: 'x', number: '1', priority: 0 }))).toBe('call_queue_not_found');
    expect(await code(store.joinCaller('other-app', queue.uuid, { name: 'x', number: '1', priority: 0 }))).toBe('call_queue_not_found');
    expect((await store.snapshot(APP, queue.uuid)).seq).toBe(1);
  });

  it('keeps a follower built from changes equal to the snapshot', async () => {
    const follower = await Follower.start(store, APP, queue.uuid);
    const agent = await store.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await store.addMember(APP, queue.uuid, { agent_uuid: agent.uuid, number: '1001@example.org', paused: false, pause_reason: null, status: 'available' });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await join(`c${i}`, i % 3));
    await store.leaveCaller(APP, queue.uuid, ids[4]!, 'timeout');
    await store.updateCaller(APP, queue.uuid, ids[0]!, { priority: 7 });
    await store.updateCaller(APP, queue.uuid, ids[5]!, { status: 'ringing', member_uuid: agent.uuid });
    await store.updateMember(APP, queue.uuid, agent.uuid, { paused: true, pause_reason: 'lunch' });
    await store.updateCaller(APP, queue.uuid, ids[5]!, { status: 'waiting' });
    await store.leaveCaller(APP, queue.uuid, ids[11]!, 'transferred');
    const snap = await store.snapshot(APP, queue.uuid);
    await follower.waitFor(snap.seq);
    expect(follower.problems).toEqual([]);
    expect(follower.view.seq).toBe(snap.seq);
    expect(follower.view.orderedCallers().filter((c) => c.position !== null)).toEqual(snap.callers.filter((c) => c.position !== null));
    expect(follower.view.memberList()).toEqual(snap.members);
    expect(follower.view.stats).toMatchObject({ ...snap.stats, longest_wait: expect.any(Number), at: expect.any(String) });
    await follower.stop();
  });

  it('resumes from a seq within retention, and says null when too old or ahead', async () => {
    const small = await factory.open({ changeRetention: 5 });
    stores.push(small);
    const q = await small.createCallQueue(APP, QUEUE);
    expect(await small.changesSince(APP, q.uuid, 0)).toEqual([]);
    const made: CallQueueChange[] = [];
    for (let i = 0; i < 8; i++) made.push((await small.joinCaller(APP, q.uuid, { name: `c${i}`, number: '100', priority: 0 })).change!);
    expect(await small.changesSince(APP, q.uuid, 8)).toEqual([]);
    expect(await small.changesSince(APP, q.uuid, 5)).toEqual(made.slice(5));
    expect(await small.changesSince(APP, q.uuid, 3)).toEqual(made.slice(3));
    expect((await small.changesSince(APP, q.uuid, 3))!.map((c) => c.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(await small.changesSince(APP, q.uuid, 2)).toBeNull();
    expect(await small.changesSince(APP, q.uuid, 9)).toBeNull();
    expect(await code(small.changesSince(APP, '00000000-0000-4000-8000-000000000000', 0))).toBe('call_queue_not_found');
  });

  it('announces the deletion of a queue as its last change', async () => {
    const follower = await Follower.start(store, APP, queue.uuid);
    await join('a');
    const del = await store.deleteCallQueue(APP, queue.uuid);
    expect(del).toMatchObject({ kind: 'queue_deleted', seq: 2, queue: { uuid: queue.uuid } });
    await follower.waitFor(2);
    expect(follower.view.deleted).toBe(true);
    expect(await code(store.snapshot(APP, queue.uuid))).toBe('call_queue_not_found');
    expect(await store.getCallQueue(APP, queue.uuid)).toBeNull();
    await follower.stop();
  });
});

describe('call positions across two Redis stores (two nodes)', () => {
  const redis = callStoreFactories.find((f) => f.name === 'redis')!;

  it('gives concurrent joins from two nodes distinct, contiguous seqs and exact positions', async () => {
    const prefix = `calls-two-${Math.random().toString(16).slice(2)}`;
    const [n1, n2] = [await redis.open({ prefix }), await redis.open({ prefix })];
    const queue = await n1.createCallQueue(APP, QUEUE);
    const f1 = await Follower.start(n1, APP, queue.uuid);
    const f2 = await Follower.start(n2, APP, queue.uuid);
    const joins = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? n1 : n2).joinCaller(APP, queue.uuid, { name: `c${i}`, number: '100', priority: i % 4 })),
    );
    const seqs = joins.map((j) => j.change!.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const snap = await n2.snapshot(APP, queue.uuid);
    // Priority desc, then the order the joins were applied in (their seq).
    const expected = [...joins]
      .sort((a, b) => b.value.priority - a.value.priority || a.change!.seq - b.change!.seq)
      .map((j) => j.value.uuid);
    expect(snap.callers.map((c) => c.uuid)).toEqual(expected);
    await Promise.all([f1.waitFor(40), f2.waitFor(40)]);
    for (const f of [f1, f2]) {
      expect(f.problems).toEqual([]);
      expect(f.view.waitingLine()).toEqual(expected);
    }
    await Promise.all([f1.stop(), f2.stop()]);
    await Promise.all([n1.close(), n2.close()]);
  });
});
