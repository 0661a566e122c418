/**
 * Callbacks (protocol/calls.md 3.1) on both call stores: a waiting caller that becomes a callback
 * keeps its place through random joins, leaves, priority changes and offers-and-returns (ringing and
 * back), on two nodes sharing Redis; every position equals a model's (priority desc, join order).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallStore } from '../../src/engine/call-types.js';
import { isHoldlineError } from '../../src/errors.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { randomName } from '../helpers/engines.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { seededRandom } from '../helpers/seeded.js';

const APP = 'acme';

interface ModelCaller {
  uuid: string;
  priority: number;
  join: number;
  status: 'waiting' | 'ringing';
  callback: string | null;
}

describe.each(callStoreFactories)('callbacks keep their place ($name store)', (factory) => {
  const open: CallStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('through random joins, leaves, priority changes and returns to the line, on two nodes', async () => {
    const prefix = freshPrefix('callbacks');
    const a = await factory.open({ prefix });
    open.push(a);
    const b = factory.name === 'redis' ? await factory.open({ prefix }) : a;
    if (b !== a) open.push(b);
    const q = await a.createCallQueue(APP, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    const agent = await a.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await a.addMember(APP, q.uuid, { agent_uuid: agent.uuid, number: '1001', paused: false, pause_reason: null, status: 'available' });

    const r = seededRandom(3);
    const model: ModelCaller[] = [];
    let joins = 0;
    const line = () =>
      model.filter((c) => c.status === 'waiting').sort((x, y) => y.priority - x.priority || x.join - y.join);
    for (let step = 0; step < 120; step++) {
      const store = step % 2 === 0 ? a : b;
      const pick = r();
      const some = model[Math.floor(r() * model.length)];
      if (some === undefined || pick < 0.3) {
        const priority = Math.floor(r() * 3);
        const c = (await store.joinCaller(APP, q.uuid, { name: `c${step}`, number: `10${step}`, priority })).value;
        model.push({ uuid: c.uuid, priority, join: joins++, status: 'waiting', callback: null });
      } else if (pick < 0.5) {
        if (some.status === 'waiting') {
          const number = r() < 0.5 ? null : `20${step}`;
          const before = line().indexOf(some);
          const { value, change } = await store.requestCallback(APP, q.uuid, some.uuid, number);
          const expected = number ?? value.number;
          expect(value.callback?.number).toBe(expected);
          expect(value.position).toBe(before);
          if (change !== null) {
            expect(change.kind === 'caller_updated' && change.changed).toEqual(['callback']);
            expect('line' in change && change.line !== undefined).toBe(false);
          } else expect(some.callback).toBe(expected);
          some.callback = expected;
        } else {
          const err = await store.requestCallback(APP, q.uuid, some.uuid, null).catch((e: unknown) => e);
          expect(isHoldlineError(err) && err.code === 'invalid_transition').toBe(true);
        }
      } else if (pick < 0.65) {
        some.priority = Math.floor(r() * 3);
        await store.updateCaller(APP, q.uuid, some.uuid, { priority: some.priority });
      } else if (pick < 0.85) {
        // Offered (ringing) and back: it returns to its place by join order, callback or not.
        if (some.status === 'waiting') {
          await store.updateCaller(APP, q.uuid, some.uuid, { status: 'ringing', member_uuid: agent.uuid });
          some.status = 'ringing';
        } else {
          await store.updateCaller(APP, q.uuid, some.uuid, { status: 'waiting' });
          some.status = 'waiting';
        }
      } else {
        await store.leaveCaller(APP, q.uuid, some.uuid, 'abandoned');
        model.splice(model.indexOf(some), 1);
      }
      const snap = await (step % 2 === 0 ? b : a).snapshot(APP, q.uuid);
      const waiting = snap.callers.filter((c) => c.status === 'waiting');
      expect(waiting.map((c) => c.uuid)).toEqual(line().map((c) => c.uuid));
      for (const [i, c] of waiting.entries()) {
        expect(c.position).toBe(i);
        const m = model.find((x) => x.uuid === c.uuid)!;
        expect(c.callback?.number ?? null).toBe(m.callback);
      }
    }
    expect(model.some((c) => c.callback !== null)).toBe(true);
  });
});

describe.each(eventNodeFactories)('a callback is recorded as an event ($name)', (factory) => {
  let node: EventNode;
  beforeEach(async () => {
    node = await factory.open();
  });
  afterEach(async () => {
    await node.close();
  });

  it('queue.caller.callback with the caller, its position and the number; the same number again records nothing', async () => {
    const app = randomName('app');
    const q = await node.calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    await node.calls.joinCaller(app, q.uuid, { name: 'Ann', number: '100', priority: 0 });
    const c = (await node.calls.joinCaller(app, q.uuid, { name: 'Bob', number: '200', priority: 0 })).value;
    await node.calls.requestCallback(app, q.uuid, c.uuid, '6135550002');
    await node.calls.requestCallback(app, q.uuid, c.uuid, '6135550002');
    await node.engine.events.flush();
    const events = ((await node.engine.events.readSince(app, 0, 1000)) ?? []).filter((e) => e.event.event_type === 'queue.caller.callback');
    expect(events).toHaveLength(1);
    const traits = Object.fromEntries(events[0]!.event.traits.map((t) => [t.name, t.value]));
    expect(traits).toMatchObject({ project_id: app, queue_id: q.uuid, caller_id: c.uuid, position: 1, callback_number: '6135550002', status: 'waiting' });
  });
});
