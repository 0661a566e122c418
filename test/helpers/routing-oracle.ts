/**
 * Strategy order, checked on every decision a routing test's nodes commit (issue 15, "strategy
 * order respected"): each Router's decide() runs in its own async context, the store reads it made
 * there (the queue's read, its agents' engagements and tags) are kept, and when its commit succeeds
 * (so nothing changed since that read: routing.md section 5 step 4) the offers it made are compared
 * with what protocol/routing.md sections 2 and 3 say the strategy picks from that read — for the
 * callers in line order up to the first one left out (a decision commits such a prefix when another
 * decision engaged that caller's pick since the read, section 5 step 3), and nobody after it. This is an
 * independent reading of the spec, not strategy.ts: where `random` may pick any eligible member, the
 * pick must be one of them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AgentRouting, Offer, RoutingRead, RoutingStore } from '../../src/engine/routing-types.js';
import type { RoutingRig } from './routing.js';

export interface Decision {
  app: string;
  queueId: string;
  read: RoutingRead;
  agents: ReadonlyMap<string, AgentRouting>;
  offers: readonly Offer[];
}

interface Context {
  read?: RoutingRead;
  agents?: ReadonlyMap<string, AgentRouting>;
}

/** Calls `onCommit` with every decision this rig's router commits (from the sweep or a change). */
export function watchDecisions(rig: RoutingRig, onCommit: (d: Decision) => void): void {
  const als = new AsyncLocalStorage<Context>();
  const router = rig.router as { decide: (app: string, queueId: string) => Promise<number | null> };
  const decide = router.decide.bind(rig.router);
  router.decide = (app, queueId) => als.run({}, () => decide(app, queueId));
  const store = rig.router.store as {
    -readonly [K in keyof RoutingStore]: RoutingStore[K];
  };
  const readRouting = store.readRouting.bind(store);
  const readAgents = store.readAgents.bind(store);
  const commitOffers = store.commitOffers.bind(store);
  store.readRouting = async (...args) => {
    const read = await readRouting(...args);
    const ctx = als.getStore();
    if (ctx !== undefined) ctx.read = read;
    return read;
  };
  store.readAgents = async (...args) => {
    const agents = await readAgents(...args);
    const ctx = als.getStore();
    if (ctx !== undefined) ctx.agents = agents;
    return agents;
  };
  store.commitOffers = async (app, queueId, seq, offers) => {
    const out = await commitOffers(app, queueId, seq, offers);
    const ctx = als.getStore();
    if (out !== null && ctx?.read !== undefined && ctx.agents !== undefined && ctx.read.seq === seq) {
      onCommit({ app, queueId, read: ctx.read, agents: ctx.agents, offers });
    }
    return out;
  };
}

type Member = RoutingRead['members'][number];
const byUuid = (a: Member, b: Member): number => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
/** "member order (by created_at, then uuid)" (routing.md section 3). */
const memberOrder = (a: Member, b: Member): number => a.createdMs - b.createdMs || byUuid(a, b);

/** Section 2, rules 1–4, for one caller of a decision; `taken`: members given to earlier callers. */
export function eligible(read: RoutingRead, agents: ReadonlyMap<string, AgentRouting>, caller: RoutingRead['waiting'][number], taken: Set<string>): Member[] {
  const holding = new Set(read.offers.flatMap((o) => o.agents));
  const tags = [...read.settings.required_tags, ...caller.requiredTags];
  const meeting = read.members.filter((m) => {
    const a = agents.get(m.uuid);
    const engaged = a !== undefined && a.engagedUntilMs !== null && (a.engagedUntilMs === 0 || a.engagedUntilMs > read.nowMs);
    return m.available && !engaged && !holding.has(m.uuid) && !taken.has(m.uuid) && tags.every((t) => (a?.tags ?? []).includes(t));
  });
  const relax = read.settings.relax_after_seconds;
  const open = relax === 0 ? Number.POSITIVE_INFINITY : Math.floor(Math.max(0, read.nowMs - caller.createdMs) / (relax * 1000));
  const inOpen = meeting.filter((m) => m.penalty <= open);
  const lowest = Math.min(...inOpen.map((m) => m.penalty));
  return inOpen.filter((m) => m.penalty === lowest);
}

/** The members the strategy may pick from `tier` (one, except `random`: any). */
function picks(strategy: string, tier: Member[], read: RoutingRead, last: string | null): Member[] {
  switch (strategy) {
    case 'longest_idle':
      return [[...tier].sort((a, b) => a.idleSinceMs - b.idleSinceMs || byUuid(a, b))[0]!];
    case 'fewest_calls':
      return [[...tier].sort((a, b) => a.callsTaken - b.callsTaken || a.idleSinceMs - b.idleSinceMs || byUuid(a, b))[0]!];
    case 'linear':
      return [[...tier].sort(memberOrder)[0]!];
    case 'round_robin': {
      // The first eligible member after the last one offered, in member order, wrapping around.
      const ordered = [...read.members].sort(memberOrder);
      const from = ordered.findIndex((m) => m.uuid === last);
      const after = [...ordered.slice(from + 1), ...ordered.slice(0, from + 1)];
      return [after.find((m) => tier.includes(m))!];
    }
    default:
      return tier;
  }
}

/** What is wrong with a committed decision, by the spec; empty when nothing. */
export function strategyViolations(d: Decision): string[] {
  const { read } = d;
  const strategy = read.settings.strategy;
  const problems: string[] = [];
  const offerOf = new Map(d.offers.map((o) => [o.caller_id, o]));
  const taken = new Set<string>();
  let last = read.lastOffered;
  if (strategy === 'ring_all' && read.offers.length > 0 && d.offers.length > 0) problems.push('ring_all offered while an offer was open');
  for (const caller of read.waiting) {
    const tier = eligible(read, d.agents, caller, taken);
    const offer = offerOf.get(caller.uuid);
    if (tier.length === 0) {
      if (offer !== undefined) problems.push(`${strategy}: caller ${caller.uuid} offered to ${offer.agents} with nobody eligible`);
      continue;
    }
    if (offer === undefined) {
      // A decision commits a prefix of its offers in line order (routing.md section 5, step 3: the
      // pick of this caller was engaged by another decision since the read): nobody behind it.
      const behind = read.waiting.slice(read.waiting.indexOf(caller) + 1).filter((c) => offerOf.has(c.uuid));
      if (behind.length > 0) problems.push(`${strategy}: caller ${caller.uuid} not offered while ${tier.map((m) => m.uuid)} eligible, yet ${behind.map((c) => c.uuid)} behind it offered`);
      break;
    }
    if (strategy === 'ring_all') {
      const want = tier.map((m) => m.uuid).sort();
      if (JSON.stringify([...offer.agents].sort()) !== JSON.stringify(want)) problems.push(`ring_all: offered to ${offer.agents}, eligible ${want}`);
      // Only the head-most caller someone can take is offered in a ring_all decision.
      if (d.offers.length !== 1) problems.push(`ring_all: ${d.offers.length} offers in one decision`);
      break;
    }
    const allowed = picks(strategy, tier, read, last).map((m) => m.uuid);
    const got = offer.agents;
    if (got.length !== 1 || !allowed.includes(got[0]!)) problems.push(`${strategy}: caller ${caller.uuid} offered to ${got}, the strategy picks ${allowed}`);
    taken.add(got[0]!);
    last = got[0]!;
  }
  return problems;
}
