/**
 * The SDK's call-queue state (src/client/callqueue-state.ts) fed a real call store's changes
 * (through test/helpers/call-follower.ts): applies line moves exactly, and refuses what it cannot
 * place (old, out-of-order, or inconsistent changes) instead of showing a wrong position.
 */
import { describe, expect, it } from 'vitest';
import type { CallQueueChange, CallQueueSnapshot } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { CallQueueFollower } from '../helpers/call-follower.js';

const APP = 'acme';

async function setup(): Promise<{ store: MemoryCallStore; queue: string; changes: CallQueueChange[]; start: CallQueueSnapshot }> {
  const store = new MemoryCallStore();
  const queue = (await store.createCallQueue(APP, {
    name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20,
  })).uuid;
  const start = await store.snapshot(APP, queue);
  const changes: CallQueueChange[] = [];
  await store.subscribeQueue(APP, queue, (e) => {
    if (e.type === 'change') changes.push(e.change);
  });
  return { store, queue, changes, start };
}

describe('CallQueueState fed by a call store', () => {
  it('follows joins, moves and leaves to the same line as the store', async () => {
    const { store, queue, changes, start } = await setup();
    const ids: string[] = [];
    for (const p of [0, 2, 0, 5, 2]) ids.push((await store.joinCaller(APP, queue, { name: '', number: '1', priority: p })).value.uuid);
    await store.updateCaller(APP, queue, ids[0]!, { priority: 9 });
    await store.leaveCaller(APP, queue, ids[3]!, 'abandoned');
    await store.updateCaller(APP, queue, ids[2]!, { priority: 2 });
    const view = new CallQueueFollower(start);
    for (const c of changes) expect(view.apply(c)).toBe('applied');
    const snap = await store.snapshot(APP, queue);
    expect(view.seq).toBe(snap.seq);
    expect(view.orderedCallers()).toEqual(snap.callers);
    expect(view.position(ids[0]!)).toBe(0);
    expect(view.position(ids[3]!)).toBeNull();
  });

  it('ignores changes it already has, reports a gap, and refuses an inconsistent move', async () => {
    const { store, queue, changes, start } = await setup();
    for (let i = 0; i < 3; i++) await store.joinCaller(APP, queue, { name: '', number: '1', priority: 0 });
    const view = new CallQueueFollower(start);
    expect(view.apply(changes[1]!)).toBe('gap');
    expect(view.seq).toBe(0);
    expect(view.apply(changes[0]!)).toBe('applied');
    expect(view.apply(changes[0]!)).toBe('stale');
    const bad = structuredClone(changes[1]!);
    if (bad.kind === 'caller_joined') bad.line.length = 7;
    expect(view.apply(bad)).toBe('diverged');
    expect(view.seq).toBe(1);
    expect(view.waitingLine()).toHaveLength(1);
    expect(view.apply(changes[1]!)).toBe('applied');
  });

  it('marks the queue deleted on its last change', async () => {
    const { store, queue, changes, start } = await setup();
    await store.deleteCallQueue(APP, queue);
    const view = new CallQueueFollower(start);
    expect(view.apply(changes[0]!)).toBe('deleted');
    expect(view.deleted).toBe(true);
  });
});
