/**
 * Contact-centre routing bench (issue 15), run on demand with tsx; not yet a target of run.ts:
 *
 *   npx tsx bench/scenarios/contact-centre.ts [--engine memory|redis] [--seconds 60] [--rate 5]
 *
 * A compressed busy hour through the domain (CallService + Router, the code REST and WebSocket
 * call; no HTTP): 300 agents in 10 queues with skills (each queue requires one of 5 skills, each
 * agent holds 2) and tiers (penalty 0 or 1, relaxation after 10 s), Poisson arrivals (`--rate`
 * callers/s, default 5), exponential handle times (mean 30 s), callers abandoning after an
 * exponential patience (mean 120 s), agents rejecting 10% of offers. On Redis, one redis-server it
 * starts itself and two routers (two nodes) sharing it, each sweeping.
 *
 * Measures offer latency (a caller's join, or the change that freed a member, to the offer notice at
 * the node that made it: the moment the agent's `offer` frame is sent), p50/p99; decisions/s; and the
 * invariant counters: double offers (an agent offered while holding an open offer) and
 * idle-while-waiting (a caller waiting longer than the dispatch bound while the decision rule would
 * give it an idle member: sampled every second). Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { Router } from '../../src/domain/calls/routing/router.js';
import { RoutingService } from '../../src/domain/calls/routing/service.js';
import { decide } from '../../src/domain/calls/routing/strategy.js';
import { CallService } from '../../src/domain/calls/service.js';
import type { CallStore } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import type { RoutingNotice, RoutingStore } from '../../src/engine/routing-types.js';
import { startRedisServer, type RedisServerHandle } from '../lib/redis-server.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'memory' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '5' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const APP = 'centre';
const SWEEP_MS = 100;
const BOUND_MS = 2 * SWEEP_MS + 500;
const STRATEGIES = ['longest_idle', 'round_robin', 'fewest_calls', 'linear', 'random'] as const;

const exp = (mean: number): number => -Math.log(1 - Math.random()) * mean;
const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

async function main(): Promise<void> {
  let redis: RedisServerHandle | null = null;
  const stores: CallStore[] = [];
  if (values.engine === 'redis') {
    redis = await startRedisServer();
    const prefix = `bench-cc-${Date.now()}`;
    for (let i = 0; i < 2; i++) stores.push(await RedisCallStore.open({ url: redis.url, prefix }));
  } else {
    stores.push(new MemoryCallStore());
  }
  const nodes = stores.map((store) => {
    const router = new Router((store as unknown as { routing: RoutingStore }).routing, { sweepMs: SWEEP_MS, onError: (e) => console.error(e) });
    const routing = new RoutingService(router, (e) => console.error(e));
    return { store, router, routing, calls: new CallService(store, { routing }) };
  });
  const n0 = nodes[0]!;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

  // --- the centre ---
  for (let s = 0; s < 5; s++) await n0.calls.createTag(APP, { tag: `skill${s}` });
  const queues: string[] = [];
  for (let q = 0; q < 10; q++) {
    const id = (await n0.calls.createQueue(APP, { name: `q${q}` })).uuid;
    await n0.routing.putSettings(APP, id, { strategy: STRATEGIES[q % STRATEGIES.length], required_tags: [`skill${q % 5}`], relax_after_seconds: 10, offer_timeout_seconds: 15 });
    queues.push(id);
  }
  for (let a = 0; a < 300; a++) {
    const agent = (await n0.calls.createAgent(APP, { name: `agent ${a}` })).uuid;
    for (const s of new Set([a % 5, (a * 7 + 3) % 5])) await n0.calls.tagAgent(APP, `skill${s}`, { agent_id: agent });
    // Three queues whose skill it may hold (or not: it then serves none of their callers).
    for (const q of new Set([a % 10, (a + 5) % 10, (a * 3) % 10])) {
      await n0.calls.addMember(APP, queues[q]!, { agent_id: agent, number: `1${a}` });
      await n0.routing.putMember(APP, queues[q]!, agent, { penalty: a % 4 === 0 ? 1 : 0 });
    }
  }

  // --- what happens ---
  const waitingSince = new Map<string, { at: number; queue: string }>();
  const latencies: number[] = [];
  const offeredAt = new Map<string, number>();
  const holding = new Map<string, string>();
  let doubleOffers = 0;
  let idleWhileWaiting = 0;
  let joined = 0;
  let answered = 0;
  let abandoned = 0;
  let rejected = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => Promise<unknown>): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn().catch(() => undefined);
    }, ms);
    timers.add(t);
  };
  // Every node's notices, in the order the store carries them: an agent offered again before its
  // previous offer ended is a double offer.
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
  // The node that made an offer answers it (the agent's desktop would, over its connection).
  const onNotice = (node: (typeof nodes)[number]) => (n: RoutingNotice): void => {
    if (n.type !== 'offer') return;
    const o = n.offer;
    const w = waitingSince.get(o.caller_id);
    // Offered during its own join (the join's answer comes after): timed when the join returns.
    if (w !== undefined) latencies.push(Date.now() - w.at);
    else offeredAt.set(o.caller_id, Date.now());
    const agent = o.agents[0]!;
    const who = { kind: 'application' as const, app: APP };
    if (Math.random() < 0.1) {
      later(200, async () => {
        rejected++;
        waitingSince.set(o.caller_id, { at: Date.now(), queue: o.queue_id });
        await node.routing.answer(who, o.queue_id, o.offer_id, 'reject', { agent_id: agent });
      });
      return;
    }
    later(100, async () => {
      await node.routing.answer(who, o.queue_id, o.offer_id, 'accept', { agent_id: agent });
      waitingSince.delete(o.caller_id);
      later(exp(30_000), async () => {
        answered++;
        await node.calls.leaveCaller(APP, o.queue_id, o.caller_id, 'answered');
      });
    });
  };
  for (const node of nodes) {
    node.router.onNotice(onNotice(node));
    node.router.start();
  }

  const started = Date.now();
  const decisions0 = nodes.reduce((s, n) => s + n.router.decisions, 0);
  const arrive = async (): Promise<void> => {
    const node = pick(nodes);
    const queue = pick(queues);
    const at = Date.now();
    const caller = (await node.calls.joinCaller(APP, queue, { number: '6135550000' })).value.uuid;
    joined++;
    const offered = offeredAt.get(caller);
    offeredAt.delete(caller);
    if (offered !== undefined) latencies.push(offered - at);
    else if (!waitingSince.has(caller)) waitingSince.set(caller, { at, queue });
    later(exp(120_000), async () => {
      const c = await node.calls.getCaller(APP, queue, caller).catch(() => null);
      if (c?.status !== 'waiting') return;
      abandoned++;
      waitingSince.delete(caller);
      await node.calls.leaveCaller(APP, queue, caller, 'abandoned');
    });
  };
  const sampler = setInterval(() => {
    void (async () => {
      const rs = n0.router.store;
      for (const q of queues) {
        const read = await rs.readRouting(APP, q);
        const agents = await rs.readAgents(APP, read.members.map((m) => m.uuid));
        for (const p of decide(read, agents)) {
          const c = read.waiting.find((x) => x.uuid === p.caller);
          const since = waitingSince.get(p.caller)?.at ?? c?.createdMs ?? read.nowMs;
          if (read.nowMs - since > BOUND_MS) idleWhileWaiting++;
        }
      }
    })().catch(() => undefined);
  }, 1000);
  while (Date.now() - started < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, exp(1000 / RATE)));
    void arrive().catch(() => undefined);
  }
  clearInterval(sampler);
  const elapsed = (Date.now() - started) / 1000;
  const decisions = nodes.reduce((s, n) => s + n.router.decisions, 0) - decisions0;
  for (const t of timers) clearTimeout(t);
  for (const node of nodes) await node.router.stop();
  await unwatch();
  for (const s of stores) await s.close();
  await redis?.stop();
  console.log(JSON.stringify({
    scenario: 'contact-centre', engine: values.engine, nodes: nodes.length, seconds: Math.round(elapsed), rate: RATE,
    joined, answered, abandoned, rejected, offers: latencies.length,
    offer_latency_ms: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) },
    decisions_per_s: Math.round(decisions / elapsed),
    invariants: { double_offers: doubleOffers, idle_while_waiting: idleWhileWaiting },
  }));
}

await main();
