/**
 * contact-centre (issues 15 and 16): a compressed busy hour driven through the domain — CallService
 * and Router on the engine's stores, the code REST and WebSocket call, without HTTP. One node on
 * memory; two nodes (two stores, two routers, each sweeping) sharing one Redis or one cluster.
 *
 * The centre: 300 agents, 10 queues (strategies longest_idle, round_robin, fewest_calls, linear,
 * random, twice each), 5 skills: queue q requires skill q mod 5, each agent holds 2 skills and is a
 * member of 3 queues (2 or 3 of which it has the skill for), a quarter of the agents in tier 1
 * (penalty 1) reached after relax_after_seconds. Callers arrive Poisson, each to a random queue,
 * handle times are exponential, callers abandon after an exponential patience, and agents reject
 * 10% of their offers (200 ms after the offer; they accept the rest after 100 ms).
 *
 * The arrival profile (issue 16: a busy hour is not a constant rate): a warm-up at the steady rate
 * (the centre fills up, not measured), the steady stretch (5 callers/s: 270 Erlangs on 300 agents;
 * measured full size, waits of 15–18 centre s median, 30 s p90), then a surge — arrivals at 1.5×
 * the steady rate for 120 centre seconds — and the drain: the steady rate again for 180 centre
 * seconds while the backlog clears. The surge is a Monday-morning peak or an outage: 7.5 callers/s
 * against a capacity of about 5.5/s (300 agents ÷ 54 s) adds a backlog of up to 2 × 120 callers
 * (about 170 once abandons, 1/180 per waiting caller per second, are counted); measured full size,
 * 230–250 callers waited at the peak (36–44 in the fullest queue; 100–120 and 21–26 in the steady
 * stretch), the surge's callers waited 26–29 s median, 36–43 s p90, and the spare 0.5/s and the
 * abandons cleared most of it by the end (30–50 of its ~1,500 estimated callers still waiting).
 * Why 1.5× for 2 minutes: the run's wall budget allows about 300 centre seconds for surge and
 * drain at ×5 (60 s wall, the steady stretch's length: a row takes about 175 s instead of 120);
 * a milder surge (1.3×) would need 4 or more minutes to build queues well above the steady
 * stretch's, and would not drain within the budget. Quick runs the same surge (120 centre s) and
 * a shorter drain (120 centre s). Every caller is in the phase it joined in: the accuracy is
 * reported for all measured callers and per phase (steady; surge and drain together). Offer
 * latency, decisions/s and the driver's CPU are of the steady stretch (comparable with runs before
 * the surge); the invariants (double offers, idle while waiting) are checked through the surge too.
 *
 * Time is compressed by `compression` (k): every duration of the centre (handle time, patience,
 * relaxation) is divided by k and the arrival rate multiplied by k, so the load (Erlangs per agent)
 * and the queues' behaviour are those of the uncompressed centre while the run takes 1/k of the
 * time. Latencies are wall-clock (the router at k times the centre's rate); wait estimates and
 * errors are reported in centre seconds (wall × k).
 *
 * Offer latency: from the change that made an offer possible — the caller's join (or its return to
 * waiting after a reject), the agent becoming free (its call ended, its reject), or the caller
 * reaching the agent's tier — to the offer notice at the node that decided it: the moment that
 * node sends the agent's `offer` frame (routing.md section 4; an agent connected to another node
 * gets it through the store's notices). No HTTP or WebSocket hop is in it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CallService } from '../../../src/domain/calls/service.js';
import { routingEstimateContext } from '../../../src/domain/calls/estimate-context.js';
import { Router } from '../../../src/domain/calls/routing/router.js';
import { RoutingService } from '../../../src/domain/calls/routing/service.js';
import { agentFree, decide } from '../../../src/domain/calls/routing/strategy.js';
import type { CallStore } from '../../../src/engine/call-types.js';
import type { RoutingNotice, RoutingStore } from '../../../src/engine/routing-types.js';
import { Histogram } from '../../lib/histogram.js';
import { log, timedBar } from '../../lib/progress.js';
import { Accuracy, AsteriskHoldtime, ErrorSample } from './accuracy.js';

/** The measured part of the busy hour a caller joined in: the surge includes its drain. */
export type Phase = 'steady' | 'surge';

export interface CentreOptions {
  /** k: centre time runs k times faster than the wall clock. */
  compression: number;
  /** Centre callers per second (Poisson). */
  rate: number;
  /** Centre seconds, exponential means. */
  handleMeanS: number;
  patienceMeanS: number;
  /** Centre seconds until a waiting caller reaches tier 1. */
  relaxAfterS: number;
  rejectShare: number;
  agents: number;
  queues: number;
  /** Wall seconds: arrivals before measuring (the centre fills up), then the measured steady stretch. */
  warmupS: number;
  busyS: number;
  /**
   * The surge after the steady stretch (measured too): arrivals at `surgeFactor` × `rate` for
   * `surgeS` wall seconds, then at `rate` for `drainS` while the backlog drains. surgeS 0: none.
   */
  surgeFactor: number;
  surgeS: number;
  drainS: number;
  /** Wall seconds at most for the saturation phase, and the backlog of callers it drains. */
  saturationS: number;
  backlog: number;
  /** Router sweep (HOLDLINE_ROUTING_SWEEP_MS), wall ms. */
  sweepMs: number;
}

export function centreOptions(quick: boolean): CentreOptions {
  return {
    // Quick: ×10, to reach a steady centre within seconds. Full: ×5, so two nodes on one Redis keep
    // up with the arrivals on a loaded 2-core machine (25 callers/s wall), 30 s to fill, 90 s measured.
    compression: quick ? 10 : 5,
    rate: 5,
    handleMeanS: 54,
    patienceMeanS: 180,
    relaxAfterS: 30,
    rejectShare: 0.1,
    agents: 300,
    queues: 10,
    warmupS: quick ? 5 : 25,
    busyS: quick ? 10 : 60,
    // The surge (header comment): 1.5× for 120 centre s, then the steady rate for 180 centre s
    // (120 quick) while the backlog drains.
    surgeFactor: 1.5,
    surgeS: quick ? 12 : 24,
    drainS: quick ? 12 : 36,
    saturationS: quick ? 4 : 15,
    backlog: quick ? 400 : 2000,
    sweepMs: 250,
  };
}

export interface CentreFigures {
  offerP50Ms: number;
  offerP99Ms: number;
  busyDecisionsPerS: number;
  busyOffersPerS: number;
  saturationOffersPerS: number;
  doubleOffers: number;
  idleWhileWaiting: number;
  /** Every measured caller's estimate errors (accuracy.all's). */
  holdline: ErrorSample;
  asterisk: ErrorSample;
  /** The same callers, and those that joined in the steady stretch or in the surge and its drain. */
  accuracy: Record<'all' | Phase, Accuracy>;
  wallboardNodeUsPerPush: number;
  wallboardWallMsPerPush: number;
  details: Record<string, number | string | boolean>;
}

const APP = 'centre';
const STRATEGIES = ['longest_idle', 'round_robin', 'fewest_calls', 'linear', 'random'] as const;
const ACCEPT_MS = 100;
const MAX_JOINS_IN_FLIGHT = 100;
const REJECT_MS = 200;

const exp = (mean: number): number => -Math.log(1 - Math.random()) * mean;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  store: CallStore;
  router: Router;
  routing: RoutingService;
  calls: CallService;
}

interface CallerState {
  queue: string;
  joinAt: number;
  /** Waiting since (join, or its return after a reject). */
  waitingSince: number;
  firstOfferAt: number | null;
  /** Its first offer's agent came from a call in another queue (the diagnosis at settle). */
  firstAgentFromOtherQueue: boolean;
  /** The estimates it was given at join (wall s), and when; null: none asked (already offered). */
  estimate: { at: number; holdline: number | null; asterisk: number; place: number } | null;
  measured: boolean;
  /** The phase it joined in (null: warm-up, not measured). */
  phase: Phase | null;
}

async function inParallel(n: number, width: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await f(next++);
    }),
  );
}

/**
 * Runs the centre on these stores (one per node); `extraCpu` reads other processes' CPU seconds
 * (the Redis servers), for the wallboard cost. The caller closes the stores.
 */
export async function runCentre(stores: CallStore[], o: CentreOptions, extraCpu: () => number = () => 0): Promise<CentreFigures> {
  const k = o.compression;
  const errors: unknown[] = [];
  const onError = (e: unknown): void => {
    if (errors.length < 5) errors.push(e);
  };
  // Decisions whose commit found the queue changed since their read (routing.md section 5, step 4):
  // each is read again, at most 5 rounds, then left to the sweep.
  const conflicts = { commits: 0, lost: 0, engages: 0, engageShort: 0 };
  const nodes: Node[] = stores.map((store) => {
    const routingStore = (store as unknown as { routing: RoutingStore }).routing;
    const commit = routingStore.commitOffers.bind(routingStore);
    routingStore.commitOffers = async (...args) => {
      const r = await commit(...args);
      conflicts.commits++;
      if (r === null) conflicts.lost++;
      return r;
    };
    // Step 3: an agent already engaged by another decision drops the whole decision (released, read again).
    const engage = routingStore.engage.bind(routingStore);
    routingStore.engage = async (app, offerId, queueId, agents, untilMs) => {
      const got = await engage(app, offerId, queueId, agents, untilMs);
      conflicts.engages++;
      if (got.length < agents.length) conflicts.engageShort++;
      return got;
    };
    const router = new Router(routingStore, { sweepMs: o.sweepMs, onError });
    const routing = new RoutingService(router, onError);
    const calls = new CallService(store, { routing, estimateContext: routingEstimateContext(routingStore) });
    return { store, router, routing, calls };
  });
  const n0 = nodes[0]!;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  const relaxWallS = Math.max(1, Math.round(o.relaxAfterS / k));

  // --- the centre ---
  const setupStart = Date.now();
  for (let s = 0; s < 5; s++) await n0.calls.createTag(APP, { tag: `skill${s}` });
  const queues: string[] = [];
  for (let q = 0; q < o.queues; q++) {
    const id = (await n0.calls.createQueue(APP, { name: `q${q}` })).uuid;
    await n0.routing.putSettings(APP, id, { strategy: STRATEGIES[q % STRATEGIES.length], required_tags: [`skill${q % 5}`], relax_after_seconds: relaxWallS, offer_timeout_seconds: 15 });
    queues.push(id);
  }
  const penalty = new Map<string, number>();
  const agentIds: string[] = [];
  await inParallel(o.agents, 16, async (a) => {
    const agent = (await n0.calls.createAgent(APP, { name: `agent ${a}` })).uuid;
    agentIds.push(agent);
    penalty.set(agent, a % 4 === 0 ? 1 : 0);
    for (const s of new Set([a % 5, (a * 7 + 3) % 5])) await n0.calls.tagAgent(APP, `skill${s}`, { agent_id: agent });
    for (const q of new Set([a % o.queues, (a + 5) % o.queues, (a * 3) % o.queues])) {
      await n0.calls.addMember(APP, queues[q]!, { agent_id: agent, number: `1${a}` });
      await n0.routing.putMember(APP, queues[q]!, agent, { penalty: penalty.get(agent)! });
    }
  });
  const setupS = (Date.now() - setupStart) / 1000;
  log(`  centre set up in ${setupS.toFixed(1)} s: ${o.agents} agents, ${o.queues} queues, ${nodes.length} node(s)`);

  // --- what happens ---
  type Mode = 'busy' | 'filling' | 'saturation' | 'stopped';
  let mode: Mode = 'busy';
  let measuring = false;
  /** The phase joins are in now (null: warm-up). */
  let phase: Phase | null = null;
  const callers = new Map<string, CallerState>();
  /** When each agent last became free (ms; 0: free from the start). */
  const agentFreeAt = new Map<string, number>();
  /** Connected calls: caller → queue, ended at the start of saturation. */
  const connected = new Map<string, string>();
  /** Offer latency of the steady stretch (the figures), and of the surge and its drain (details). */
  const latency = new Histogram();
  const surgeLatency = new Histogram();
  /** The same, by what made the offer possible last: the caller, the agent, or the tier opening. */
  const byCause = { caller: new Histogram(), agent: new Histogram(), tier: new Histogram() };
  /** Offers seen before their caller's join returned (made during the join): offer time by caller. */
  const offeredDuringJoin = new Map<string, { at: number; agent: string }>();
  const accuracy: Record<'all' | Phase, Accuracy> = { all: new Accuracy(), steady: new Accuracy(), surge: new Accuracy() };
  const asterisk = new AsteriskHoldtime();
  const counts = { joined: 0, answered: 0, abandoned: 0, rejected: 0, offers: 0, offeredAtJoin: 0, noEstimate: 0, failures: 0 };
  let firstFailure: string | undefined;
  const fail = (e: unknown): void => {
    counts.failures++;
    firstFailure ??= (e as Error).message;
  };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => Promise<unknown>): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn().catch(fail);
    }, ms);
    timers.add(t);
  };

  // Every node's notices, in the order the store carries them: an agent offered again before its
  // previous offer ended is a double offer.
  const holding = new Map<string, string>();
  let doubleOffers = 0;
  const unwatch = await n0.router.store.subscribeNotices((n) => {
    if (n.type === 'offer.ended') {
      for (const p of n.end.agents) if (holding.get(p.agent) === n.end.offer.offer_id) holding.delete(p.agent);
      return;
    }
    for (const agent of n.offer.agents) {
      if (holding.has(agent)) doubleOffers++;
      holding.set(agent, n.offer.offer_id);
    }
  });

  let satOffers = 0;
  const who = { kind: 'application' as const, app: APP };
  const endCall = async (node: Node, queue: string, caller: string, agent: string): Promise<void> => {
    if (!connected.delete(caller)) return;
    // Free from now: set before the leave, since the leave's own decision may offer the agent again
    // (its notice arrives before leaveCaller returns, and its latency is counted from here).
    agentFreeAt.set(agent, Date.now());
    await node.calls.leaveCaller(APP, queue, caller, 'answered');
    counts.answered++;
  };
  // The node that made an offer answers it, as the agent's desktop would over its connection.
  const onNotice = (node: Node) => (n: RoutingNotice): void => {
    if (n.type !== 'offer' || mode === 'stopped') return;
    const now = Date.now();
    const o2 = n.offer;
    const agent = o2.agents[0]!;
    const c = callers.get(o2.caller_id);
    if (mode === 'filling' || mode === 'saturation') {
      // Filling: accepted and held (the agent stays on the call until saturation starts).
      // Saturation: accepted and hung up at once, no handle time.
      const hangUp = mode === 'saturation';
      if (hangUp) satOffers++;
      void (async () => {
        await node.routing.answer(who, o2.queue_id, o2.offer_id, 'accept', { agent_id: agent });
        connected.set(o2.caller_id, o2.queue_id);
        if (hangUp) await endCall(node, o2.queue_id, o2.caller_id, agent);
      })().catch(fail);
      return;
    }
    if (c !== undefined) {
      counts.offers++;
      if (c.measured) recordLatency(c, agent, now);
      if (c.firstOfferAt === null) {
        c.firstOfferAt = now;
        const last = lastCallQueue.get(agent);
        c.firstAgentFromOtherQueue = last !== undefined && last !== c.queue;
      }
    } else if (mode === 'busy') offeredDuringJoin.set(o2.caller_id, { at: now, agent });
    if (Math.random() < o.rejectShare) {
      later(REJECT_MS, async () => {
        counts.rejected++;
        const at = Date.now();
        if (c) c.waitingSince = at;
        agentFreeAt.set(agent, at);
        await node.routing.answer(who, o2.queue_id, o2.offer_id, 'reject', { agent_id: agent });
      });
      return;
    }
    later(ACCEPT_MS, async () => {
      await node.routing.answer(who, o2.queue_id, o2.offer_id, 'accept', { agent_id: agent });
      connected.set(o2.caller_id, o2.queue_id);
      lastCallQueue.set(agent, o2.queue_id);
      if (c) {
        asterisk.answered(c.queue, (now - c.joinAt) / 1000);
        settle(o2.caller_id, c, now);
      }
      later(exp((o.handleMeanS * 1000) / k), () => endCall(node, o2.queue_id, o2.caller_id, agent));
    });
  };
  /** Possible since: the caller waiting, the agent free, and the caller in the agent's tier. */
  const recordLatency = (c: CallerState, agent: string, at: number): void => {
    const tierOpen = penalty.get(agent) === 1 ? c.joinAt + relaxWallS * 1000 : 0;
    const free = agentFreeAt.get(agent) ?? 0;
    const since = Math.max(c.waitingSince, free, tierOpen);
    const us = Math.max(0, at - since) * 1000;
    if (c.phase === 'surge') {
      surgeLatency.record(us);
      return;
    }
    latency.record(us);
    (since === c.waitingSince ? byCause.caller : since === free ? byCause.agent : byCause.tier).record(us);
  };
  /** A caller offered and accepted: its estimates from join against the wait it had. */
  const settle = (id: string, c: CallerState, offeredAt: number): void => {
    callers.delete(id);
    if (!c.measured || c.estimate === null) return;
    const first = c.firstOfferAt ?? offeredAt;
    const actualS = ((first - c.estimate.at) / 1000) * k;
    const holdlineS = c.estimate.holdline === null ? null : c.estimate.holdline * k;
    for (const a of [accuracy.all, accuracy[c.phase ?? 'steady']]) a.add(holdlineS, c.estimate.asterisk * k, c.estimate.place, actualS);
    if (holdlineS !== null && c.phase !== null) {
      noteAbandonsAhead(c, c.phase, first, holdlineS, actualS);
      agentFrom[c.phase][c.firstAgentFromOtherQueue ? 'other' : 'same'].add(holdlineS, actualS);
    }
  };
  // Issue 16 diagnosis, the other suspect: a member on a call in another queue is left out of the
  // estimate's pool (estimate.ts, engagedElsewhere) — that queue decides first when the call ends —
  // but when that queue has nobody waiting the member comes here. Per phase: the share of estimated
  // callers whose first offer went to an agent whose last call was in another queue, and Holdline's
  // median bias for those and the others.
  const lastCallQueue = new Map<string, string>();
  const agentFrom = {
    steady: { other: new ErrorSample(), same: new ErrorSample() },
    surge: { other: new ErrorSample(), same: new ErrorSample() },
  };
  // Issue 16 diagnosis: does the estimate's overestimate come from callers ahead abandoning (the
  // model counts every caller ahead as one to be offered)? Ahead = the same queue, joined earlier
  // (the centre's callers have no priority and no skills of their own); per phase, the share of
  // estimated callers with an abandon ahead between their estimate and their offer, and Holdline's
  // median bias with and without one.
  const abandonsByQueue = new Map<string, Array<{ joinAt: number; at: number }>>();
  const abandonsAhead = {
    steady: { with: new ErrorSample(), without: new ErrorSample() },
    surge: { with: new ErrorSample(), without: new ErrorSample() },
  };
  const noteAbandonsAhead = (c: CallerState, p: Phase, offeredAt: number, holdlineS: number, actualS: number): void => {
    const from = c.estimate?.at ?? c.joinAt;
    const ahead = (abandonsByQueue.get(c.queue) ?? []).some((a) => a.joinAt < c.joinAt && a.at > from && a.at < offeredAt);
    abandonsAhead[p][ahead ? 'with' : 'without'].add(holdlineS, actualS);
  };
  for (const node of nodes) {
    node.router.onNotice(onNotice(node));
    node.router.start();
  }

  // Issue 16 diagnosis: of the members the estimate counts as free now (available, unpaused), how
  // many are really free (no call or offer in another queue: routing's engagement), have the
  // queue's skill, and are in tier 0 — sampled at a fifth of the measured joins.
  const freeSeen = { samples: 0, available: 0, notEngaged: 0, skilled: 0, tier0: 0 };
  const whoIsFree = async (node: Node, queue: string): Promise<void> => {
    const snap = await node.calls.snapshot(APP, queue);
    const ids = snap.members.filter((m) => m.status === 'available' && !m.paused).map((m) => m.uuid);
    const ag = await node.router.store.readAgents(APP, ids);
    const now = Date.now();
    const skill = `skill${queues.indexOf(queue) % 5}`;
    const free = ids.filter((id) => agentFree(ag.get(id), now));
    const skilled = free.filter((id) => ag.get(id)?.tags.includes(skill) ?? false);
    freeSeen.samples++;
    freeSeen.available += ids.length;
    freeSeen.notEngaged += free.length;
    freeSeen.skilled += skilled.length;
    freeSeen.tier0 += skilled.filter((id) => penalty.get(id) === 0).length;
  };
  const arrive = async (): Promise<void> => {
    const node = pick(nodes);
    const queue = pick(queues);
    const at = Date.now();
    const state: CallerState = { queue, joinAt: at, waitingSince: at, firstOfferAt: null, firstAgentFromOtherQueue: false, estimate: null, measured: measuring, phase };
    const caller = (await node.calls.joinCaller(APP, queue, { number: '6135550000' })).value.uuid;
    counts.joined++;
    callers.set(caller, state);
    const early = offeredDuringJoin.get(caller);
    if (early !== undefined) {
      offeredDuringJoin.delete(caller);
      counts.offers++;
      if (state.measured) recordLatency(state, early.agent, early.at);
      state.firstOfferAt = early.at;
    }
    // The estimate a PBX would announce, read right after the join (GET …/callers/{uuid}).
    const asked = Date.now();
    const asteriskEst = asterisk.estimate(queue, (asked - at) / 1000);
    const got = await node.calls.getCaller(APP, queue, caller);
    if (got.status === 'waiting' && got.estimated_wait !== undefined && state.firstOfferAt === null) {
      state.estimate = { at: asked, holdline: got.estimated_wait === null ? null : got.estimated_wait, asterisk: asteriskEst, place: got.position ?? 0 };
      // A diagnosis of the steady centre (in the surge, few members are free).
      if (state.phase === 'steady' && Math.random() < 0.2) void whoIsFree(node, queue).catch(fail);
    } else if (state.measured) {
      if (got.status === 'waiting') counts.noEstimate++;
      else counts.offeredAtJoin++;
    }
    later(exp((o.patienceMeanS * 1000) / k), async () => {
      if (mode !== 'busy' || !callers.has(caller)) return;
      const c = await node.calls.getCaller(APP, queue, caller).catch(() => null);
      if (c?.status !== 'waiting') return;
      callers.delete(caller);
      const list = abandonsByQueue.get(queue) ?? [];
      list.push({ joinAt: at, at: Date.now() });
      abandonsByQueue.set(queue, list);
      await node.calls.leaveCaller(APP, queue, caller, 'abandoned');
      counts.abandoned++;
    });
  };

  // Idle while waiting: every second, each queue's decision rule is run on a fresh read; a pair it
  // would make whose caller and agent have both been free for it longer than the dispatch bound
  // (sweep + 500 ms for the decision) is checked again 300 ms later and counted if still there.
  const boundMs = o.sweepMs + 500;
  let idleWhileWaiting = 0;
  let samples = 0;
  const pairs = async (q: string): Promise<Array<{ key: string; since: number; now: number }>> => {
    const rs = n0.router.store;
    const read = await rs.readRouting(APP, q);
    const agents = await rs.readAgents(APP, read.members.map((m) => m.uuid));
    return decide(read, agents).flatMap((p) => {
      const agent = p.agents[0]!;
      const c = callers.get(p.caller);
      const joined = c?.joinAt ?? read.waiting.find((w) => w.uuid === p.caller)?.createdMs ?? read.nowMs;
      const tierOpen = penalty.get(agent) === 1 ? joined + relaxWallS * 1000 : 0;
      const idle = read.members.find((m) => m.uuid === agent)?.idleSinceMs ?? 0;
      const since = Math.max(c?.waitingSince ?? joined, agentFreeAt.get(agent) ?? 0, idle, tierOpen);
      return [{ key: `${p.caller}:${agent}`, since, now: read.nowMs }];
    });
  };
  const sampler = setInterval(() => {
    if (!measuring || mode !== 'busy') return;
    void (async () => {
      samples++;
      for (const q of queues) {
        const late = (await pairs(q)).filter((p) => p.now - p.since > boundMs);
        if (late.length === 0) continue;
        await sleep(300);
        const again = new Set((await pairs(q)).map((p) => p.key));
        idleWhileWaiting += late.filter((p) => again.has(p.key)).length;
      }
    })().catch(fail);
  }, 1000);

  // How deep the line gets: waiting callers (routing's read, every queue, each second), over the
  // centre and in the fullest queue, per phase.
  const depth = { steady: { centre: 0, queue: 0 }, surge: { centre: 0, queue: 0 } };
  const depthSampler = setInterval(() => {
    const p = phase;
    if (p === null || mode !== 'busy') return;
    void Promise.all(queues.map(async (q) => (await n0.router.store.readRouting(APP, q)).waiting.length))
      .then((lengths) => {
        const d = depth[p];
        d.centre = Math.max(d.centre, lengths.reduce((a, b) => a + b, 0));
        d.queue = Math.max(d.queue, ...lengths);
      })
      .catch(fail);
  }, 1000);

  // --- the busy hour ---
  let issued = 0;
  let surgeIssued = 0;
  let shed = 0;
  let inFlightJoins = 0;
  /** Poisson arrivals at `rate` centre callers/s until `untilMs`. */
  const arrivals = async (untilMs: number, rate: number): Promise<void> => {
    const meanGapMs = 1000 / (rate * k);
    let next = Date.now();
    while (Date.now() < untilMs) {
      next += exp(meanGapMs);
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      issued++;
      if (phase === 'surge') surgeIssued++;
      // An engine that cannot keep up would pile up joins without end: past this many unfinished,
      // arrivals are shed (counted), so the row still finishes and says it fell behind.
      if (inFlightJoins >= MAX_JOINS_IN_FLIGHT) {
        shed++;
        continue;
      }
      inFlightJoins++;
      void arrive()
        .catch(fail)
        .finally(() => inFlightJoins--);
    }
  };
  const surging = o.surgeS > 0;
  const surgeText = surging ? `, then ${o.surgeFactor}× for ${o.surgeS} s and ${o.drainS} s to drain` : '';
  const bar = timedBar(
    `  busy: ${o.rate * k} callers/s (centre ${o.rate}/s at ×${k})${surgeText}`,
    (o.warmupS + o.busyS + (surging ? o.surgeS + o.drainS : 0)) * 1000,
    () => `${counts.joined} joined, ${callers.size} waiting, ${counts.offers} offers`,
  );
  await arrivals(Date.now() + o.warmupS * 1000, o.rate);
  measuring = true;
  phase = 'steady';
  // How late this process's event loop ran (a loaded machine, or this process at its limit): every
  // latency here includes it.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const busyCpu0 = process.cpuUsage();
  const busyStart = Date.now();
  const decisions0 = nodes.reduce((s, n) => s + n.router.decisions, 0);
  const offers0 = counts.offers;
  await arrivals(busyStart + o.busyS * 1000, o.rate);
  const busyWall = (Date.now() - busyStart) / 1000;
  const busyDecisions = nodes.reduce((s, n) => s + n.router.decisions, 0) - decisions0;
  const busyOffers = counts.offers - offers0;
  loopDelay.disable();
  const busyCpu = process.cpuUsage(busyCpu0);
  // The surge, then the drain at the steady rate: measured callers of phase 'surge'.
  const surgeStart = Date.now();
  if (surging) {
    phase = 'surge';
    await arrivals(surgeStart + o.surgeS * 1000, o.rate * o.surgeFactor);
    await arrivals(Date.now() + o.drainS * 1000, o.rate);
  }
  const surgeWall = (Date.now() - surgeStart) / 1000;
  measuring = false;
  phase = null;
  bar.stop(`${counts.joined} joined, ${counts.offers} offers`);
  clearInterval(sampler);
  clearInterval(depthSampler);
  // Callers still waiting: offered later or never (abandoned). Give the last ones a moment.
  await sleep(Math.min(3000, ((o.handleMeanS * 1000) / k) * 0.5));
  const unsettledOf = (p: Phase): number => [...callers.values()].filter((c) => c.phase === p && c.estimate !== null).length;
  const unsettled = { steady: unsettledOf('steady'), surge: unsettledOf('surge') };

  // --- the wallboard read each callqueue.stats push makes (CallService.wallboardFrame) ---
  const wbRounds = 3;
  const cpu0 = process.cpuUsage();
  const wall0 = Date.now();
  for (let r = 0; r < wbRounds; r++) for (const q of queues) await n0.calls.wallboardFrame(APP, q);
  const cpu = process.cpuUsage(cpu0);
  const pushes = wbRounds * queues.length;
  const wallboardNodeUsPerPush = (cpu.user + cpu.system) / pushes;
  const wallboardWallMsPerPush = (Date.now() - wall0) / pushes;

  // --- saturation: a backlog, agents answering at once with no handle time ---
  // Filling: the backlog joins while every agent that gets an offer keeps the call (offers in
  // flight are still answered, calls of the busy hour still end; abandons stop). Then every call
  // ends at once and the backlog is offered as fast as the routers decide and the agents (accepting
  // and hanging up at once) answer: offers/s over the first 90% of what still waits.
  mode = 'filling';
  let filledOffers = 0;
  const countFilling = (n: RoutingNotice): void => {
    if (n.type === 'offer' && mode === 'filling') filledOffers++;
  };
  const unfill = nodes.map((n) => n.router.onNotice(countFilling));
  // Bounded: on a router that keeps up the backlog joins in a few seconds.
  const fillUntil = Date.now() + Math.max(5, o.saturationS) * 1000;
  let backlogJoined = 0;
  await inParallel(o.backlog, 16, async (i) => {
    if (Date.now() > fillUntil) return;
    await pick(nodes).calls.joinCaller(APP, queues[i % queues.length]!, { number: '6135550001' });
    backlogJoined++;
  });
  await sleep(500);
  for (const u of unfill) u();
  const stillWaiting = callers.size + backlogJoined - filledOffers;
  const goal = Math.max(1, Math.floor(0.9 * Math.min(backlogJoined, stillWaiting)));
  const extra0 = extraCpu();
  const satCpu0 = process.cpuUsage();
  mode = 'saturation';
  const satStart = Date.now();
  satOffers = 0;
  for (const [caller, queue] of connected) void endCall(pick(nodes), queue, caller, '').catch(fail);
  const satBar = timedBar(`  saturation: ${goal} offers to make`, o.saturationS * 1000, () => `${satOffers} offers`);
  while (Date.now() - satStart < o.saturationS * 1000 && satOffers < goal) await sleep(20);
  const satWall = (Date.now() - satStart) / 1000;
  const satCount = satOffers;
  const satCpu = process.cpuUsage(satCpu0);
  const satExtra = extraCpu() - extra0;
  satBar.stop(`${satCount} offers in ${satWall.toFixed(1)} s`);
  mode = 'stopped';

  for (const t of timers) clearTimeout(t);
  for (const node of nodes) await node.router.stop();
  await unwatch();
  await sleep(200);
  if (errors.length > 0) log(`  routing errors: ${errors.map((e) => (e as Error).message).join('; ')}`);
  return {
    offerP50Ms: latency.percentile(50) / 1000,
    offerP99Ms: latency.percentile(99) / 1000,
    busyDecisionsPerS: busyDecisions / busyWall,
    busyOffersPerS: busyOffers / busyWall,
    saturationOffersPerS: satCount / satWall,
    doubleOffers,
    idleWhileWaiting,
    holdline: accuracy.all.holdline,
    asterisk: accuracy.all.asterisk,
    accuracy,
    wallboardNodeUsPerPush,
    wallboardWallMsPerPush,
    details: {
      nodes: nodes.length,
      compression: k,
      centre_rate_per_s: o.rate,
      wall_rate_per_s: o.rate * k,
      handle_mean_centre_s: o.handleMeanS,
      patience_mean_centre_s: o.patienceMeanS,
      relax_after_wall_s: relaxWallS,
      setup_s: Number(setupS.toFixed(1)),
      busy_wall_s: Number(busyWall.toFixed(1)),
      surge_factor: surging ? o.surgeFactor : 0,
      surge_centre_s: surging ? o.surgeS * k : 0,
      drain_centre_s: surging ? o.drainS * k : 0,
      surge_and_drain_wall_s: Number(surgeWall.toFixed(1)),
      arrivals: issued,
      arrivals_in_surge_and_drain: surgeIssued,
      arrivals_shed_engine_behind: shed,
      joined: counts.joined,
      answered: counts.answered,
      abandoned: counts.abandoned,
      rejected: counts.rejected,
      offers_measured: latency.count,
      ...Object.fromEntries(
        Object.entries(byCause).flatMap(([cause, h]) => [
          [`offers_after_${cause}`, h.count],
          [`offer_after_${cause}_p50_ms`, Number((h.percentile(50) / 1000).toFixed(1))],
        ]),
      ),
      callers_offered_at_join: counts.offeredAtJoin,
      callers_estimated: accuracy.all.asterisk.count,
      callers_null_estimate: accuracy.all.nullEstimates,
      callers_estimated_not_offered_by_end: unsettled.steady + unsettled.surge,
      steady_callers_estimated_not_offered_by_end: unsettled.steady,
      surge_callers_estimated_not_offered_by_end: unsettled.surge,
      steady_peak_callers_waiting: depth.steady.centre,
      steady_peak_callers_waiting_one_queue: depth.steady.queue,
      surge_peak_callers_waiting: depth.surge.centre,
      surge_peak_callers_waiting_one_queue: depth.surge.queue,
      ...(freeSeen.samples > 0
        ? {
            estimate_free_members_counted: Number((freeSeen.available / freeSeen.samples).toFixed(1)),
            estimate_free_members_not_engaged_elsewhere: Number((freeSeen.notEngaged / freeSeen.samples).toFixed(1)),
            estimate_free_members_with_skill: Number((freeSeen.skilled / freeSeen.samples).toFixed(1)),
            estimate_free_members_with_skill_tier0: Number((freeSeen.tier0 / freeSeen.samples).toFixed(1)),
          }
        : {}),
      holdline_median_bias_s: Number(accuracy.all.holdline.medianBias().toFixed(1)),
      hindsight_by_place_median_err_s: Number(accuracy.all.hindsight.medianError().toFixed(1)),
      asterisk_median_bias_s: Number(accuracy.all.asterisk.medianBias().toFixed(1)),
      actual_wait_median_s: Number(accuracy.all.waitPercentile(50).toFixed(1)),
      // Per phase: steady_* (joined in the steady stretch), surge_* (in the surge or its drain).
      ...accuracy.steady.details('steady_'),
      ...accuracy.surge.details('surge_'),
      ...Object.fromEntries(
        (['steady', 'surge'] as const).flatMap((p) => {
          const { with: w, without } = abandonsAhead[p];
          const share = w.count / Math.max(1, w.count + without.count);
          return [
            [`${p}_share_with_abandon_ahead`, Number(share.toFixed(3))],
            [`${p}_holdline_median_bias_abandon_ahead_s`, Number(w.medianBias().toFixed(1))],
            [`${p}_holdline_median_bias_no_abandon_ahead_s`, Number(without.medianBias().toFixed(1))],
            [`${p}_share_offered_agent_from_other_queue`, Number((agentFrom[p].other.count / Math.max(1, agentFrom[p].other.count + agentFrom[p].same.count)).toFixed(3))],
            [`${p}_holdline_median_bias_agent_from_other_queue_s`, Number(agentFrom[p].other.medianBias().toFixed(1))],
            [`${p}_holdline_median_bias_agent_from_same_queue_s`, Number(agentFrom[p].same.medianBias().toFixed(1))],
          ];
        }),
      ),
      surge_offer_p50_ms: Number((surgeLatency.percentile(50) / 1000).toFixed(1)),
      surge_offer_p99_ms: Number((surgeLatency.percentile(99) / 1000).toFixed(1)),
      idle_samples: samples,
      busy_node_cpu_cores: Number(((busyCpu.user + busyCpu.system) / 1e6 / busyWall).toFixed(2)),
      busy_event_loop_delay_p50_ms: Number((loopDelay.percentile(50) / 1e6).toFixed(1)),
      busy_event_loop_delay_p99_ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
      saturation_backlog: backlogJoined,
      saturation_offered_while_filling: filledOffers,
      saturation_goal: goal,
      saturation_offers: satCount,
      saturation_wall_s: Number(satWall.toFixed(1)),
      saturation_node_cpu_cores: Number(((satCpu.user + satCpu.system) / 1e6 / satWall).toFixed(2)),
      saturation_redis_cpu_cores: Number((satExtra / satWall).toFixed(2)),
      failures: counts.failures,
      ...(firstFailure ? { first_failure: firstFailure.slice(0, 200) } : {}),
      routing_errors: errors.length,
      commits: conflicts.commits,
      commits_lost_to_concurrent_change: conflicts.lost,
      engages: conflicts.engages,
      engages_short_agent_taken: conflicts.engageShort,
    },
  };
}
