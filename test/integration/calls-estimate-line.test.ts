/**
 * CallStore.readEstimateLine, on the memory store and on Redis: what the estimated wait reads of a
 * queue (the waiting line in position order with join times, the members' states, the members that
 * ringing callers name) is what a snapshot of the same queue says, and the wallboard frame's
 * estimates (computed from it) are the ones a snapshot gives.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallQueueSnapshot, CallStore, EstimateLineRead } from '../../src/engine/call-types.js';
import { CallService } from '../../src/domain/calls/service.js';
import { callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';

/** The same read, taken from a snapshot's wire records. */
function fromSnapshot(snap: CallQueueSnapshot): EstimateLineRead {
  return {
    nowMs: Date.parse(snap.stats.at),
    waiting: snap.callers.filter((c) => c.status === 'waiting').map((c) => ({ uuid: c.uuid, createdMs: Date.parse(c.created_at) })),
    members: snap.members.map((m) => ({ uuid: m.uuid, status: m.status, paused: m.paused, statusAtMs: Date.parse(m.status_at) })),
    ringing: snap.callers.flatMap((c) => (c.status === 'ringing' && c.member_uuid !== null ? [c.member_uuid] : [])),
  };
}

const byUuid = <T extends { uuid: string }>(list: readonly T[]): T[] => [...list].sort((a, b) => (a.uuid < b.uuid ? -1 : 1));

describe.each(callStoreFactories)('readEstimateLine ($name store)', (factory) => {
  let store: CallStore;
  let svc: CallService;
  let queue: string;
  const agents: string[] = [];

  beforeEach(async () => {
    store = await factory.open();
    svc = new CallService(store);
    queue = (await svc.createQueue(APP, { name: 'support' })).uuid;
    agents.length = 0;
    for (const [i, patch] of [{}, { paused: true }, { status: 'logged_out' }, {}].entries()) {
      const agent = (await svc.createAgent(APP, { name: `agent-${i}` })).uuid;
      agents.push(agent);
      await svc.addMember(APP, queue, { agent_id: agent, number: `100${i}` });
      if (Object.keys(patch).length > 0) await svc.updateMember(APP, queue, agent, patch);
    }
  });
  afterEach(async () => {
    await store.close();
  });

  it('says what a snapshot says: line order, join times, members, ringing members', async () => {
    const callers: string[] = [];
    for (const [i, priority] of [0, 5, 0, 2, 0, 5].entries()) {
      callers.push((await svc.joinCaller(APP, queue, { number: `61355500${i}`, priority })).value.uuid);
    }
    // One caller rings a member, one is connected to another, one has left: none of them waits.
    await svc.updateCaller(APP, queue, callers[0]!, { status: 'ringing', member_uuid: agents[0] });
    await svc.updateCaller(APP, queue, callers[1]!, { status: 'ringing', member_uuid: agents[3] });
    await svc.updateCaller(APP, queue, callers[1]!, { status: 'connected' });
    await svc.leaveCaller(APP, queue, callers[2]!, 'abandoned');

    const line = await store.readEstimateLine(APP, queue);
    const snap = await store.snapshot(APP, queue);
    const expected = fromSnapshot(snap);
    expect(line.waiting).toEqual(expected.waiting);
    expect(line.waiting.map((c) => c.uuid)).toEqual([callers[5], callers[3], callers[4]]);
    expect(line.ringing).toEqual([agents[0]]);
    expect(byUuid(line.members)).toEqual(byUuid(expected.members));
    // Read just before the snapshot.
    expect(line.nowMs).toBeLessThanOrEqual(Date.parse(snap.stats.at));
    expect(line.nowMs).toBeGreaterThanOrEqual(Date.parse(snap.stats.at) - 60_000);

    // The pushed estimates (from this read) are the snapshot's (the values do not move with time:
    // an available member, another on its way to a call, H = 180 s; the others serve nobody; one
    // caller abandoned and none was answered this hour, so there is no answered caller's wait to
    // give θ by and every caller ahead counts whole: with c = 180 s, 1 + 2t/c reaches ⅔, 1⅔ and 2⅔
    // at 0, c/3 and 5c/6, routing.md section 9).
    const frame = await svc.wallboardFrame(APP, queue);
    expect(frame!.estimates).toEqual(Object.fromEntries(await svc.estimates(APP, queue, snap)));
    expect(Object.entries(frame!.estimates)).toEqual([[callers[5], 0], [callers[3], 60], [callers[4], 150]]);
  });

  it('rejects a queue that is not there', async () => {
    await expect(store.readEstimateLine(APP, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'call_queue_not_found' });
  });
});
