/**
 * Routing on two Holdline nodes sharing one real redis-server (protocol/routing.md sections 2–6):
 * fast-check draws sequences of joins, leaves, accepts, rejects, timeouts, pauses, status and tag
 * changes, and member moves between queues, each made through one node or the other, with the
 * other node's changes interleaved; after every step both nodes sweep (the dispatch bound: one
 * sweep), and then the invariants hold, read back from the store:
 *   - no double offer: an agent is in at most one open offer across all queues, a caller in at
 *     most one; every open offer's caller is ringing (with that agent, or none for ring_all) and
 *     every routed ringing caller has its offer; every offered agent is engaged for that offer;
 *   - no eligible member idle while a caller it could take waits (ring_all: while no offer is open);
 *   - a member is busy exactly while a caller of its queue is connected to it through routing.
 *   - strategy order: every decision either node commits picks, from the very read it committed on,
 *     the member protocol/routing.md sections 2–3 name (random: one of the eligible ones; ring_all:
 *     all of them), test/helpers/routing-oracle.ts; and the facts it ranked by that the model can
 *     predict agree with it: each member's calls_taken is the accepts the model saw, round_robin's
 *     last offered member is the one its previous committed decision picked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Offer } from '../../src/engine/routing-types.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { isHoldlineError } from '../../src/errors.js';
import { freshPrefix } from '../helpers/namespace.js';
import { routingRig, type RoutingRig } from '../helpers/routing.js';
import { strategyViolations, watchDecisions, type Decision } from '../helpers/routing-oracle.js';
import { until } from '../helpers/wait.js';

const APP = 'centre';
const STRATEGIES = ['longest_idle', 'round_robin', 'fewest_calls', 'linear', 'ring_all', 'random'] as const;

type Op =
  | { kind: 'join'; node: number; queue: number; skill: boolean }
  | { kind: 'leave'; node: number; pick: number }
  | { kind: 'accept' | 'reject'; node: number; pick: number; agent: number }
  | { kind: 'timeout' }
  | { kind: 'pause'; node: number; queue: number; agent: number; paused: boolean }
  | { kind: 'status'; node: number; queue: number; agent: number; status: 'available' | 'logged_out' }
  | { kind: 'tag'; node: number; agent: number; on: boolean }
  | { kind: 'move'; node: number; queue: number; agent: number };

const node = fc.integer({ min: 0, max: 1 });
const queue = fc.integer({ min: 0, max: 1 });
const agent = fc.integer({ min: 0, max: 3 });
const pick = fc.nat({ max: 20 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('join' as const), node, queue, skill: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), node, pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('accept' as const), node, pick, agent }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reject' as const), node, pick, agent }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const), node, queue, agent, paused: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('status' as const), node, queue, agent, status: fc.constantFrom('available' as const, 'logged_out' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tag' as const), node, agent, on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), node, queue, agent }) },
);

/** A catalogue error is an answer (the step did not apply); anything else fails the run. */
async function tolerate(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isHoldlineError(err)) throw err;
  }
}

interface World {
  nodes: [RoutingRig, RoutingRig];
  queues: string[];
  agents: string[];
  /** Callers that joined and have not left, per queue index. */
  callers: { queue: number; uuid: string }[];
  /** Every committed decision, in the order the nodes saw their commits. */
  decisions: Decision[];
  /** Accepts answered ok, per `queue|agent` since the agent last became a member there. */
  accepted: Map<string, number>;
}

async function setUp(strategies: readonly [string, string]): Promise<World> {
  const prefix = freshPrefix('routing-model');
  // Two stores on one prefix: two Holdline nodes sharing the Redis (a cluster, in test/cluster/).
  const redis = callStoreFactories.find((f) => f.name === 'redis')!;
  const open = () => redis.open({ prefix });
  const nodes: [RoutingRig, RoutingRig] = [routingRig(await open()), routingRig(await open())];
  const [n0] = nodes;
  await n0.calls.createTag(APP, { tag: 'skill' });
  const queues: string[] = [];
  for (let q = 0; q < 2; q++) {
    const id = (await n0.calls.createQueue(APP, { name: `q${q}` })).uuid;
    await n0.routing.putSettings(APP, id, { strategy: strategies[q], offer_timeout_seconds: 1 });
    queues.push(id);
  }
  const agents: string[] = [];
  for (let a = 0; a < 4; a++) {
    const id = (await n0.calls.createAgent(APP, { name: `a${a}` })).uuid;
    agents.push(id);
    // Agents 0–2 serve queue 0, agents 1–3 queue 1: agents 1 and 2 serve both.
    for (let q = 0; q < 2; q++) {
      if ((q === 0 && a <= 2) || (q === 1 && a >= 1)) await n0.calls.addMember(APP, queues[q]!, { agent_id: id, number: `10${a}` });
    }
    if (a % 2 === 0) await n0.calls.tagAgent(APP, 'skill', { agent_id: id });
    await n0.routing.putMember(APP, queues[0]!, id, { penalty: a === 2 ? 1 : 0 }).catch(() => undefined);
  }
  const w: World = { nodes, queues, agents, callers: [], decisions: [], accepted: new Map() };
  for (const n of nodes) watchDecisions(n, (d) => w.decisions.push(d));
  return w;
}

async function step(w: World, op: Op): Promise<void> {
  if (op.kind === 'timeout') {
    // Past every open offer's deadline (offer_timeout_seconds 1), then the sweeps fire them.
    const all = (await Promise.all(w.queues.map((q) => w.nodes[0].routing.listOffers(APP, q)))).flat();
    const last = Math.max(0, ...all.map((o) => Date.parse(o.expires_at)));
    await until(() => Date.now() > last + 5, { what: 'the offers to expire' });
    return;
  }
  const n = w.nodes[op.node]!;
  switch (op.kind) {
    case 'join': {
      const body = op.skill ? { number: '1', required_tags: ['skill'] } : { number: '1' };
      const uuid = (await n.calls.joinCaller(APP, w.queues[op.queue]!, body)).value.uuid;
      w.callers.push({ queue: op.queue, uuid });
      return;
    }
    case 'leave': {
      if (w.callers.length === 0) return;
      const [c] = w.callers.splice(op.pick % w.callers.length, 1);
      await tolerate(n.calls.leaveCaller(APP, w.queues[c!.queue]!, c!.uuid, 'answered'));
      return;
    }
    case 'accept':
    case 'reject': {
      const open = (await Promise.all(w.queues.map((q) => n.routing.listOffers(APP, q)))).flat();
      if (open.length === 0) return;
      const o = open[op.pick % open.length]!;
      const who = o.agents[op.agent % o.agents.length]!;
      const ok = await n.routing.answer({ kind: 'application', app: APP }, o.queue_id, o.offer_id, op.kind, { agent_id: who }).then(
        () => true,
        (err: unknown) => {
          if (!isHoldlineError(err)) throw err;
          return false;
        },
      );
      const key = `${o.queue_id}|${who}`;
      if (ok && op.kind === 'accept') w.accepted.set(key, (w.accepted.get(key) ?? 0) + 1);
      return;
    }
    case 'pause':
      await tolerate(n.calls.updateMember(APP, w.queues[op.queue]!, w.agents[op.agent]!, { paused: op.paused }));
      return;
    case 'status':
      await tolerate(n.calls.updateMember(APP, w.queues[op.queue]!, w.agents[op.agent]!, { status: op.status }));
      return;
    case 'tag':
      if (op.on) await n.calls.tagAgent(APP, 'skill', { agent_id: w.agents[op.agent]! });
      else await n.calls.untagAgent(APP, 'skill', w.agents[op.agent]!);
      return;
    case 'move': {
      // A member moves: removed from the queue it serves there, or added where it does not.
      const q = w.queues[op.queue]!;
      const a = w.agents[op.agent]!;
      if ((await n.calls.listMembers(APP, q)).some((m) => m.uuid === a)) {
        await n.calls.removeMember(APP, q, a);
        w.accepted.delete(`${q}|${a}`);
      } else await n.calls.addMember(APP, q, { agent_id: a, number: '1999' });
    }
  }
}

/** Both nodes sweep, twice each: the dispatch bound is one sweep after the change. */
async function settle(w: World): Promise<void> {
  for (let i = 0; i < 2; i++) for (const n of w.nodes) await n.router.sweep();
}

/** Strategy order on every decision committed since the last check (see the header). */
function checkDecisions(w: World, from: number): void {
  for (const d of w.decisions.slice(from)) {
    expect(strategyViolations(d), `decision at seq ${d.read.seq}`).toEqual([]);
    for (const m of d.read.members) expect(m.callsTaken, `calls_taken of ${m.uuid}`).toBe(w.accepted.get(`${d.queueId}|${m.uuid}`) ?? 0);
    if (d.read.settings.strategy !== 'round_robin') continue;
    const before = w.decisions.filter((x) => x.queueId === d.queueId && x.read.seq < d.read.seq).sort((x, y) => x.read.seq - y.read.seq).at(-1);
    const lastPick = before?.offers.at(-1)?.agents[0] ?? null;
    expect(d.read.lastOffered, `round_robin's last offered at seq ${d.read.seq}`).toBe(lastPick);
  }
}

async function check(w: World): Promise<void> {
  const n = w.nodes[0];
  const offers: Offer[] = (await Promise.all(w.queues.map((q) => n.routing.listOffers(APP, q)))).flat();
  const byAgent = new Map<string, string>();
  const byCaller = new Set<string>();
  for (const o of offers) {
    expect(byCaller.has(o.caller_id), `caller ${o.caller_id} holds two offers`).toBe(false);
    byCaller.add(o.caller_id);
    for (const a of o.agents) {
      expect(byAgent.get(a), `agent ${a} holds two offers`).toBeUndefined();
      byAgent.set(a, o.offer_id);
    }
  }
  const engaged = await n.router.store.readAgents(APP, w.agents);
  const nowMs = Date.now();
  for (const [a] of byAgent) expect(engaged.get(a)?.engagedUntilMs, `offered agent ${a} is not engaged`).not.toBeNull();

  const busyAgents = new Set<string>();
  for (let qi = 0; qi < 2; qi++) {
    const q = w.queues[qi]!;
    const snap = await n.calls.snapshot(APP, q);
    const settings = await n.routing.getSettings(APP, q);
    const queueOffers = offers.filter((o) => o.queue_id === q);
    for (const c of snap.callers) {
      const o = queueOffers.find((x) => x.caller_id === c.uuid);
      if (c.status === 'ringing') {
        expect(o, `ringing caller ${c.uuid} has no offer`).toBeDefined();
        if (settings.strategy !== 'ring_all') expect(o!.agents).toContain(c.member_uuid);
      } else expect(o, `${c.status} caller ${c.uuid} holds an offer`).toBeUndefined();
      if (c.status === 'connected' && c.member_uuid !== null) busyAgents.add(c.member_uuid);
    }
    for (const m of snap.members) {
      if (m.status === 'busy') expect(snap.callers.some((c) => c.status === 'connected' && c.member_uuid === m.uuid), `member ${m.uuid} busy without a call`).toBe(true);
    }
    // No eligible member idle while a caller it could take waits.
    if (settings.strategy === 'ring_all' && queueOffers.length > 0) continue;
    const waiting = snap.callers.filter((c) => c.status === 'waiting');
    if (waiting.length === 0) continue;
    const agentInfo = await n.router.store.readAgents(APP, snap.members.map((m) => m.uuid));
    for (const m of snap.members) {
      if (m.status !== 'available' || m.paused) continue;
      const info = agentInfo.get(m.uuid)!;
      const e = info.engagedUntilMs;
      if (e !== null && (e === 0 || e > nowMs)) continue;
      const routing = await n.routing.getMember(APP, q, m.uuid);
      if (routing.wrapup_until !== null || routing.offer_id !== null) continue;
      for (const c of waiting) {
        const raw = await n.calls.getCaller(APP, q, c.uuid);
        const needsSkill = (await n.router.store.readRouting(APP, q)).waiting.find((x) => x.uuid === raw.uuid)?.requiredTags.includes('skill') ?? false;
        if (needsSkill && !info.tags.includes('skill')) continue;
        expect.fail(`member ${m.uuid} is idle and eligible while caller ${c.uuid} waits in ${settings.strategy} queue ${qi}`);
      }
    }
  }
  expect(busyAgents.size).toBeGreaterThanOrEqual(0);
}

describe('routing model: two nodes sharing one redis-server', () => {
  it('keeps single offers and leaves no eligible member idle, whatever happens', async () => {
    let decisionsChecked = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...STRATEGIES), fc.constantFrom(...STRATEGIES), fc.array(opArb, { minLength: 5, maxLength: 25 }), async (s0, s1, ops) => {
        const w = await setUp([s0, s1]);
        try {
          await settle(w);
          await check(w);
          let checked = 0;
          for (const op of ops) {
            await step(w, op);
            await settle(w);
            await check(w);
            checkDecisions(w, checked);
            checked = w.decisions.length;
          }
          decisionsChecked += w.decisions.length;
          for (const n of w.nodes) expect(n.errors).toEqual([]);
        } finally {
          for (const n of w.nodes) await n.store.close();
        }
      }),
      { numRuns: 25 },
    );
    // Not vacuous: the runs committed decisions, and the oracle saw them.
    expect(decisionsChecked).toBeGreaterThan(0);
  }, 300_000);
});
