/**
 * Routing on both stores (protocol/routing.md): each strategy, tiers with relaxation, skills,
 * wrap-up, autopause, ring_all, one offer per agent across queues, and bad answers that change
 * nothing. Driven through the domain (CallService + RoutingService), as REST and WebSocket are.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Offer } from '../../src/engine/routing-types.js';
import { isHoldlineError } from '../../src/errors.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { members, routingRig, type RoutingRig } from '../helpers/routing.js';
import { until } from '../helpers/wait.js';

const APP = 'acme';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isHoldlineError(err)) return err.field === undefined ? err.code : `${err.code}:${err.field}`;
    throw err;
  }
  return 'ok';
}

/** The tests' verbs on the rig and queue the getters name (the current test's). */
function helpers(rigOf: () => RoutingRig, queueOf: () => string) {
  const join = async (extra: Record<string, unknown> = {}, q = queueOf()): Promise<string> =>
    (await rigOf().calls.joinCaller(APP, q, { number: '6135551234', ...extra })).value.uuid;
  const offers = (q = queueOf()): Promise<Offer[]> => rigOf().routing.listOffers(APP, q);
  const offerOf = async (caller: string, q = queueOf()): Promise<Offer> => {
    const o = (await offers(q)).find((x) => x.caller_id === caller);
    if (!o) throw new Error(`no offer for caller ${caller}`);
    return o;
  };
  const app = { kind: 'application' as const, app: APP };
  const accept = (o: Offer, agent: string, q = queueOf()): Promise<Offer> => rigOf().routing.answer(app, q, o.offer_id, 'accept', { agent_id: agent });
  const reject = (o: Offer, agent: string, q = queueOf()): Promise<Offer> => rigOf().routing.answer(app, q, o.offer_id, 'reject', { agent_id: agent });
  const strategy = (s: string, more: Record<string, unknown> = {}, q = queueOf()): Promise<unknown> =>
    rigOf().routing.putSettings(APP, q, { strategy: s, ...more });
  return { join, offers, offerOf, app, accept, reject, strategy };
}

describe.each(callStoreFactories)('routing ($name store)', (factory) => {
  let rig: RoutingRig;
  let queue: string;

  beforeEach(async () => {
    rig = routingRig(await factory.open());
    queue = (await rig.calls.createQueue(APP, { name: 'support' })).uuid;
  });
  afterEach(async () => {
    await rig.router.stop();
    await rig.store.close();
    expect(rig.errors).toEqual([]);
  });

  const { join, offers, offerOf, app, accept, reject, strategy } = helpers(
    () => rig,
    () => queue,
  );

  it('manual (the default) makes no offers', async () => {
    expect((await rig.routing.getSettings(APP, queue)).strategy).toBe('manual');
    await members(rig, APP, queue, [{ name: 'a' }]);
    await join();
    expect(await offers()).toEqual([]);
  });

  it('a manual queue where routing holds nothing costs one read per change: no due mark, no tick, no decision', async () => {
    const rs = rig.router.store;
    const [a] = await members(rig, APP, queue, [{ name: 'a', penalty: 2 }]);
    expect(await rs.routingIdle(APP, queue)).toBe(true);
    // A member routing holds nothing for (no tier set): its removal leaves routing idle too.
    const other = (await rig.calls.createAgent(APP, { name: 'b' })).uuid;
    const marks = vi.spyOn(rs, 'markDue');
    const ticks = vi.spyOn(rs, 'tick');
    const reads = vi.spyOn(rs, 'readRouting');
    const idleReads = vi.spyOn(rs, 'routingIdle');
    const c1 = await join();
    await rig.calls.updateMember(APP, queue, a!, { status: 'available' });
    await rig.calls.updateMember(APP, queue, a!, { paused: true });
    await rig.calls.updateCaller(APP, queue, c1, { priority: 3 });
    await rig.calls.updateQueue(APP, queue, { name: 'support, renamed' });
    await rig.calls.leaveCaller(APP, queue, c1, 'abandoned');
    await rig.calls.addMember(APP, queue, { agent_id: other, number: '1002@example.org' });
    await rig.calls.removeMember(APP, queue, other);
    expect([marks.mock.calls.length, ticks.mock.calls.length, reads.mock.calls.length]).toEqual([0, 0, 0]);
    // Where the store reads routing's idleness in the change's own script (Redis: its result carries
    // it, call-types.ts RoutingIdleAfter), the router reads it only after a request that changed
    // nothing (the member already available); else once per request.
    expect(idleReads.mock.calls.length).toBe(factory.name === 'redis' ? 1 : 8);
    // Not manual: every change is routing's again.
    await strategy('linear');
    expect(await rs.routingIdle(APP, queue)).toBe(false);
    expect(marks).toHaveBeenCalled();
  });

  it('back to manual, routing still finishes what it holds: an open offer, a routed call, its wrap-up', async () => {
    const rs = rig.router.store;
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await strategy('linear', { wrapup_seconds: 0 });
    const c1 = await join();
    await accept(await offerOf(c1), a!);
    const c2 = await join();
    const o2 = await offerOf(c2);
    expect(o2.agents).toEqual([b]);
    await strategy('manual');
    // An open offer and a routed call: not idle, so changes still tick (and decide nothing).
    expect(await rs.routingIdle(APP, queue)).toBe(false);
    await reject(o2, b!);
    expect(await rig.calls.getCaller(APP, queue, c2)).toMatchObject({ status: 'waiting' });
    expect(await offers()).toEqual([]);
    expect(await rs.routingIdle(APP, queue)).toBe(false);
    // The routed call ends under manual: the member is freed as ever, then routing is idle.
    await rig.calls.leaveCaller(APP, queue, c1, 'answered');
    expect((await rig.calls.getMember(APP, queue, a!)).status).toBe('available');
    expect(await rs.routingIdle(APP, queue)).toBe(true);
    // A removed member's routing state is tidied by the tick before the queue is idle again.
    await rig.routing.putMember(APP, queue, b!, { penalty: 1 });
    await rig.calls.removeMember(APP, queue, b!);
    expect(await rs.routingIdle(APP, queue)).toBe(true);
    expect(await offers()).toEqual([]);
  });

  it('longest_idle offers the head caller to the longest-idle member; accept connects, call end frees', async () => {
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await strategy('longest_idle');
    const c1 = await join();
    const o1 = await offerOf(c1);
    expect(o1.agents).toEqual([a]);
    const ringing = await rig.calls.getCaller(APP, queue, c1);
    expect(ringing).toMatchObject({ status: 'ringing', member_uuid: a, position: null });
    await accept(o1, a!);
    expect(await rig.calls.getCaller(APP, queue, c1)).toMatchObject({ status: 'connected', member_uuid: a });
    expect((await rig.calls.getMember(APP, queue, a!)).status).toBe('busy');
    expect((await rig.routing.getMember(APP, queue, a!)).calls_taken).toBe(1);
    // a is on a call: the next caller goes to b.
    const c2 = await join();
    expect((await offerOf(c2)).agents).toEqual([b]);
    await rig.calls.leaveCaller(APP, queue, c1, 'answered');
    expect((await rig.calls.getMember(APP, queue, a!)).status).toBe('available');
    // a became idle just now, b has been idle longer but holds c2: c3 goes to a.
    const c3 = await join();
    expect((await offerOf(c3)).agents).toEqual([a]);
  });

  it('reject passes the caller on; round_robin moves past the last member offered', async () => {
    const [a, b, c] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    await strategy('round_robin');
    const c1 = await join();
    expect((await offerOf(c1)).agents).toEqual([a]);
    await reject(await offerOf(c1), a!);
    expect((await offerOf(c1)).agents).toEqual([b]);
    await reject(await offerOf(c1), b!);
    expect((await offerOf(c1)).agents).toEqual([c]);
    await reject(await offerOf(c1), c!);
    expect((await offerOf(c1)).agents).toEqual([a]);
    expect(await rig.calls.getCaller(APP, queue, c1)).toMatchObject({ status: 'ringing', member_uuid: a });
  });

  it('linear always starts from the first member (again after a reject); fewest_calls prefers who took fewer', async () => {
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await strategy('linear');
    const c1 = await join();
    expect((await offerOf(c1)).agents).toEqual([a]);
    await reject(await offerOf(c1), a!);
    expect((await offerOf(c1)).agents).toEqual([a]);
    await accept(await offerOf(c1), a!);
    await rig.calls.leaveCaller(APP, queue, c1, 'answered');
    await strategy('fewest_calls');
    const c2 = await join();
    expect((await offerOf(c2)).agents).toEqual([b]);
  });

  it('random picks among the eligible with the router random source', async () => {
    await rig.router.stop();
    rig = { ...rig };
    const seeded = routingRig(rig.store, { random: () => 0.99 });
    const [, b] = await members(seeded, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await seeded.routing.putSettings(APP, queue, { strategy: 'random' });
    const c1 = (await seeded.calls.joinCaller(APP, queue, { number: '1' })).value.uuid;
    expect((await offerOf(c1)).agents).toEqual([b]);
  });

  it('ring_all offers every eligible member; the first accept wins, the others are revoked', async () => {
    const [a, b, c] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const notices: string[] = [];
    rig.router.onNotice((n) => {
      if (n.type === 'offer.ended') for (const x of n.end.agents) notices.push(`${x.agent}:${x.reason}`);
    });
    await strategy('ring_all');
    const c1 = await join();
    const c2 = await join();
    const o = await offerOf(c1);
    expect(o.agents).toEqual([a, b, c]);
    expect(await offers()).toHaveLength(1);
    expect(await rig.calls.getCaller(APP, queue, c1)).toMatchObject({ status: 'ringing', member_uuid: null });
    await reject(o, c!);
    await accept(o, b!);
    expect(notices.sort()).toEqual([`${a}:accepted_elsewhere`, `${b}:accepted`, `${c}:rejected`].sort());
    expect(await code(accept(o, a!))).toBe('offer_not_found');
    expect(await rig.calls.getCaller(APP, queue, c1)).toMatchObject({ status: 'connected', member_uuid: b });
    // c2 now rings at a and c.
    expect((await offerOf(c2)).agents).toEqual([a, c]);
  });

  it('skills: the queue and the caller require tags; a caller nobody can take does not block the next', async () => {
    await rig.calls.createTag(APP, { tag: 'french' });
    await rig.calls.createTag(APP, { tag: 'billing' });
    const [fr, both] = await members(rig, APP, queue, [
      { name: 'fr', tags: ['billing', 'french'] },
      { name: 'both', tags: ['billing'] },
    ]);
    await strategy('linear', { required_tags: ['billing'] });
    const german = await join({ required_tags: ['german'] });
    const french = await join({ required_tags: ['french'] });
    const any = await join();
    expect(await rig.calls.getCaller(APP, queue, german)).toMatchObject({ status: 'waiting', position: 0 });
    expect((await offerOf(french)).agents).toEqual([fr]);
    expect((await offerOf(any)).agents).toEqual([both]);
    // A tag given later makes the german caller reachable: first in line, it is offered first.
    await rig.calls.createTag(APP, { tag: 'german' });
    await rig.calls.tagAgent(APP, 'german', { agent_id: both! });
    await reject(await offerOf(any), both!);
    expect((await offerOf(german)).agents).toEqual([both]);
  });

  it('an agent in two queues holds one offer at a time', async () => {
    const q2 = (await rig.calls.createQueue(APP, { name: 'sales' })).uuid;
    const [a] = await members(rig, APP, queue, [{ name: 'a' }]);
    await rig.calls.addMember(APP, q2, { agent_id: a!, number: '1001@example.org' });
    await strategy('linear');
    await strategy('linear', {}, q2);
    const c1 = await join();
    const c2 = await join({}, q2);
    expect((await offerOf(c1)).agents).toEqual([a]);
    expect(await offers(q2)).toEqual([]);
    expect((await rig.routing.agentOffer(APP, a!))?.caller_id).toBe(c1);
    await reject(await offerOf(c1), a!);
    // Released: its other queue decides (on its sweep), and may take it.
    await rig.router.sweep();
    const held = [...(await offers()), ...(await offers(q2))];
    expect(held).toHaveLength(1);
    expect([c1, c2]).toContain(held[0]!.caller_id);
  });

  it("a decision whose later pick another decision took commits the offers ahead of it, then decides the rest again", async () => {
    const q2 = (await rig.calls.createQueue(APP, { name: 'sales' })).uuid;
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    const c1 = await join();
    const c2 = await join();
    // While the decision reserves its offers, another one (queue q2's) engages b just before it.
    const store = rig.router.store;
    const engage = store.engage.bind(store);
    const other = '00000000-0000-4000-8000-0000000000b2';
    let raced = false;
    const reservedA: string[] = [];
    store.engage = async (app, offerId, queueId, agents, untilMs) => {
      if (agents.includes(a!)) reservedA.push(offerId);
      if (!raced && agents.includes(b!)) {
        raced = true;
        expect(await engage(app, other, q2, [b!], Date.now() + 60_000)).toEqual([b]);
      }
      return engage(app, offerId, queueId, agents, untilMs);
    };
    await strategy('linear');
    expect(raced).toBe(true);
    // c1's pick (a) did not depend on b: committed. c2's was taken: not offered, b not held by queue.
    expect((await offerOf(c1)).agents).toEqual([a]);
    expect((await offers()).map((o) => o.caller_id)).toEqual([c1]);
    // In the same round: a was reserved once, for the offer made (not released and taken again).
    expect(reservedA).toEqual([(await offerOf(c1)).offer_id]);
    expect((await rig.calls.getCaller(APP, queue, c2)).status).toBe('waiting');
    expect((await rig.routing.agentOffer(APP, b!))).toBeNull();
    // The other decision lets b go: the next decision offers c2 to b.
    await store.follow(APP, [{ agent: b!, offer_id: other, untilMs: null }]);
    await rig.router.changed(APP, queue);
    expect((await offerOf(c2)).agents).toEqual([b]);
  });

  it('changes made at once to one queue are decided one pass at a time on a node, none lost', async () => {
    const ids = await members(rig, APP, queue, Array.from({ length: 12 }, (_, i) => ({ name: `m${i}` })));
    await strategy('longest_idle');
    const store = rig.router.store;
    const read = store.readRouting.bind(store);
    const engage = store.engage.bind(store);
    let inFlight = 0;
    let most = 0;
    let short = 0;
    store.readRouting = async (...args) => {
      most = Math.max(most, ++inFlight);
      try {
        return await read(...args);
      } finally {
        inFlight--;
      }
    };
    store.engage = async (app, offerId, queueId, agents, untilMs) => {
      const got = await engage(app, offerId, queueId, agents, untilMs);
      if (got.length < agents.length) short++;
      return got;
    };
    // Twelve joins at once: each waits for a pass that has read it; every caller gets its own member.
    const callers = await Promise.all(Array.from({ length: 12 }, () => join()));
    const held = await offers();
    expect(held.map((o) => o.caller_id).sort()).toEqual([...callers].sort());
    expect(new Set(held.map((o) => o.agents[0])).size).toBe(12);
    expect(held.every((o) => ids.includes(o.agents[0]!))).toBe(true);
    expect(most).toBe(1);
    expect(short).toBe(0);
  });

  it('bad answers and settings change nothing', async () => {
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await strategy('linear');
    const c1 = await join();
    const o = await offerOf(c1);
    const before = { offers: await offers(), caller: await rig.calls.getCaller(APP, queue, c1), settings: await rig.routing.getSettings(APP, queue) };
    expect(await code(accept(o, b!))).toBe('offer_not_yours');
    expect(await code(rig.routing.answer(app, queue, 'nope', 'accept', { agent_id: a }))).toBe('offer_not_found');
    expect(await code(rig.routing.answer(app, queue, o.offer_id, 'accept', {}))).toBe('missing_field:agent_id');
    expect(await code(rig.routing.answer({ kind: 'agent', app: APP, agent: b! }, queue, o.offer_id, 'accept', {}))).toBe('offer_not_yours');
    expect(await code(rig.routing.answer({ kind: 'agent', app: APP, agent: a! }, queue, o.offer_id, 'accept', { agent_id: b }))).toBe('offer_not_yours');
    expect(await code(strategy('fastest'))).toBe('invalid_field:strategy');
    expect(await code(strategy('linear', { required_tags: ['no spaces'] }))).toBe('invalid_field:required_tags');
    expect(await code(strategy('linear', { required_tags: ['1234'] }))).toBe('invalid_field:required_tags');
    expect(await code(strategy('linear', { offer_timeout_seconds: 0 }))).toBe('invalid_field:offer_timeout_seconds');
    expect(await code(strategy('linear', { colour: 'red' }))).toBe('invalid_field:colour');
    expect(await code(rig.routing.putMember(APP, queue, a!, { penalty: -1 }))).toBe('invalid_field:penalty');
    expect(await code(rig.calls.joinCaller(APP, queue, { number: '1', required_tags: 'french' }))).toBe('invalid_field:required_tags');
    expect({ offers: await offers(), caller: await rig.calls.getCaller(APP, queue, c1), settings: await rig.routing.getSettings(APP, queue) }).toEqual(before);
    await accept(o, a!);
    expect(await code(accept(o, a!))).toBe('offer_not_found');
  });

  it('records offers, answers, wrap-up and autopause as events, with the changes', async () => {
    const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    await strategy('ring_all');
    const c1 = await join();
    const o = await offerOf(c1);
    await reject(o, b!);
    await accept(o, a!);
    const events = (rig.store as unknown as { events: import('../../src/engine/events.js').EventLog }).events;
    await events.flush();
    const logged = (await events.readSince(APP, 0, 1000))!.map((e) => e.event);
    const routed = logged.filter((e) => e.event_type.startsWith('queue.caller.offer'));
    const trait = (e: (typeof logged)[number], name: string): unknown => e.traits.find((t) => t.name === name)?.value;
    expect(routed.map((e) => e.event_type)).toEqual(['queue.caller.offer', 'queue.caller.offer.reject', 'queue.caller.offer.accept']);
    expect(routed.map((e) => trait(e, 'offer_id'))).toEqual([o.offer_id, o.offer_id, o.offer_id]);
    expect(trait(routed[0]!, 'agents')).toBe(`${a},${b}`);
    expect(trait(routed[2]!, 'agent_id')).toBe(a);
    // The caller's and member's changes are events of their own, in the same order.
    const statuses = logged.filter((e) => e.event_type === 'queue.caller.status').map((e) => trait(e, 'status'));
    expect(statuses).toEqual(['ringing', 'connected']);
    expect(logged.some((e) => e.event_type === 'queue.member.status' && trait(e, 'status') === 'busy')).toBe(true);
  });

  // The tests that wait out a timer of a second (relax_after, offer timeout, wrap-up) run at once,
  // each on a store, router and queue of its own; one after the other they waited a second each.
  describe.concurrent('waiting out timers', () => {
    async function own(onTestFinished: (fn: () => Promise<void>) => void) {
      const rig = routingRig(await factory.open());
      const queue = (await rig.calls.createQueue(APP, { name: 'support' })).uuid;
      onTestFinished(async () => {
        await rig.router.stop();
        await rig.store.close();
        expect(rig.errors).toEqual([]);
      });
      return { rig, queue, ...helpers(() => rig, () => queue) };
    }

    it('tiers: penalty 1 is reached only after relax_after_seconds', async ({ onTestFinished }) => {
      const { rig, queue, join, offers, offerOf, accept, strategy } = await own(onTestFinished);
      const [low, high] = await members(rig, APP, queue, [{ name: 'low', penalty: 0 }, { name: 'high', penalty: 1 }]);
      await strategy('longest_idle', { relax_after_seconds: 1 });
      const c1 = await join();
      expect((await offerOf(c1)).agents).toEqual([low]);
      await accept(await offerOf(c1), low!);
      const c2 = await join();
      expect(await offers()).toEqual([]);
      rig.router.start();
      await until(async () => (await offers()).some((o) => o.caller_id === c2), { what: 'the relaxed offer' });
      expect((await offerOf(c2)).agents).toEqual([high]);
    });

    it('timeout passes the offer on and counts toward autopause', async ({ onTestFinished }) => {
      const { rig, queue, join, offers, offerOf, strategy } = await own(onTestFinished);
      const [a, b] = await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
      await strategy('linear', { offer_timeout_seconds: 1, autopause_after_missed: 1 });
      const c1 = await join();
      expect((await offerOf(c1)).agents).toEqual([a]);
      rig.router.start();
      await until(async () => (await offers()).some((o) => o.agents[0] === b), { what: 'the offer to b' });
      const m = await rig.calls.getMember(APP, queue, a!);
      expect(m).toMatchObject({ paused: true, pause_reason: 'autopause' });
      expect((await rig.routing.getMember(APP, queue, a!)).missed_offers).toBe(0);
    });

    it('wrap-up: after a routed call the member is in wrapup, then available and offered again', async ({ onTestFinished }) => {
      const { rig, queue, join, offers, offerOf, accept, strategy } = await own(onTestFinished);
      const [a] = await members(rig, APP, queue, [{ name: 'a' }]);
      await strategy('linear', { wrapup_seconds: 1 });
      const c1 = await join();
      await accept(await offerOf(c1), a!);
      await rig.calls.leaveCaller(APP, queue, c1, 'answered');
      expect((await rig.calls.getMember(APP, queue, a!)).status).toBe('wrapup');
      expect((await rig.routing.getMember(APP, queue, a!)).wrapup_until).not.toBeNull();
      const c2 = await join();
      expect(await offers()).toEqual([]);
      rig.router.start();
      await until(async () => (await offers()).some((o) => o.caller_id === c2), { what: 'the offer after wrap-up' });
      expect((await rig.calls.getMember(APP, queue, a!)).status).toBe('available');
    });

    it('an expired offer cannot be accepted; the timeout then fires once', async ({ onTestFinished }) => {
      const { rig, queue, join, offerOf, accept, strategy } = await own(onTestFinished);
      const [a] = await members(rig, APP, queue, [{ name: 'a' }]);
      await strategy('linear', { offer_timeout_seconds: 1 });
      const c1 = await join();
      const o = await offerOf(c1);
      await until(() => Date.now() > Date.parse(o.expires_at) + 5, { what: 'expiry' });
      expect(await code(accept(o, a!))).toBe('offer_expired');
      expect(await rig.calls.getCaller(APP, queue, c1)).toMatchObject({ status: 'ringing' });
      await rig.router.sweep();
      await rig.router.sweep();
      expect((await rig.routing.getMember(APP, queue, a!)).missed_offers).toBe(1);
      // Offered again (a is still eligible), as a new offer.
      const again = await offerOf(c1);
      expect(again.offer_id).not.toBe(o.offer_id);
    });
  });
});
