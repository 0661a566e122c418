/**
 * The routing decision (protocol/routing.md sections 2 and 3), pure: from one consistent read of a
 * queue and its members' agents, which waiting callers to offer to whom. Both engines commit what
 * this decides, so the rule exists once.
 */
import type { AgentRouting, RoutingRead } from '../../../engine/routing-types.js';

export interface Proposal {
  caller: string;
  /** One agent, or every eligible one for ring_all. */
  agents: string[];
}

type Member = RoutingRead['members'][number];

/** Member order for round_robin and linear: by created time, then uuid. */
function memberOrder(a: Member, b: Member): number {
  if (a.createdMs !== b.createdMs) return a.createdMs - b.createdMs;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

function byIdle(a: Member, b: Member): number {
  if (a.idleSinceMs !== b.idleSinceMs) return a.idleSinceMs - b.idleSinceMs;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/** Whether an agent's engagement (routing.md section 5) leaves it free at `nowMs`. */
export function agentFree(a: AgentRouting | undefined, nowMs: number): boolean {
  if (a === undefined || a.engagedUntilMs === null) return true;
  return a.engagedUntilMs !== 0 && a.engagedUntilMs <= nowMs;
}

/** The highest penalty open to a caller who joined at `createdMs` (Infinity: every tier). */
export function openPenalty(relaxAfterSeconds: number, createdMs: number, nowMs: number): number {
  if (relaxAfterSeconds <= 0) return Number.POSITIVE_INFINITY;
  return Math.floor(Math.max(0, nowMs - createdMs) / (relaxAfterSeconds * 1000));
}

/**
 * Members eligible for one caller before tiers (rules 1–3 of section 2), given those already taken
 * by earlier callers of this decision.
 */
function candidates(
  read: RoutingRead,
  agents: ReadonlyMap<string, AgentRouting>,
  caller: RoutingRead['waiting'][number],
  taken: ReadonlySet<string>,
  offered: ReadonlySet<string>,
): Member[] {
  const needed = [...read.settings.required_tags, ...caller.requiredTags];
  return read.members.filter((m) => {
    if (!m.available || taken.has(m.uuid) || offered.has(m.uuid)) return false;
    const a = agents.get(m.uuid);
    if (!agentFree(a, read.nowMs)) return false;
    const tags = a?.tags ?? [];
    return needed.every((t) => tags.includes(t));
  });
}

/** Rule 4: the lowest penalty among those open to the caller. */
function lowestOpenTier(members: Member[], open: number): Member[] {
  const inOpen = members.filter((m) => m.penalty <= open);
  if (inOpen.length === 0) return [];
  const lowest = Math.min(...inOpen.map((m) => m.penalty));
  return inOpen.filter((m) => m.penalty === lowest);
}

export function decide(read: RoutingRead, agents: ReadonlyMap<string, AgentRouting>, random: () => number = Math.random): Proposal[] {
  const s = read.settings;
  if (s.strategy === 'manual') return [];
  // Agents holding an offer of this queue already (the engagement says so too, once followed).
  const offered = new Set(read.offers.flatMap((o) => o.agents));
  if (s.strategy === 'ring_all' && read.offers.length > 0) return [];
  const taken = new Set<string>();
  const ordered = [...read.members].sort(memberOrder);
  let last = read.lastOffered;
  const proposals: Proposal[] = [];
  for (const caller of read.waiting) {
    const tier = lowestOpenTier(candidates(read, agents, caller, taken, offered), openPenalty(s.relax_after_seconds, caller.createdMs, read.nowMs));
    if (tier.length === 0) continue;
    let chosen: Member;
    switch (s.strategy) {
      case 'ring_all':
        return [{ caller: caller.uuid, agents: tier.sort(memberOrder).map((m) => m.uuid) }];
      case 'longest_idle':
        chosen = tier.sort(byIdle)[0]!;
        break;
      case 'fewest_calls':
        chosen = tier.sort((a, b) => a.callsTaken - b.callsTaken || byIdle(a, b))[0]!;
        break;
      case 'random':
        // In member order first, so a given random source picks the same member on every engine.
        chosen = tier.sort(memberOrder)[Math.min(tier.length - 1, Math.floor(random() * tier.length))]!;
        break;
      case 'linear':
        chosen = tier.sort(memberOrder)[0]!;
        break;
      case 'round_robin': {
        const inTier = new Set(tier.map((m) => m.uuid));
        const start = last === null ? -1 : ordered.findIndex((m) => m.uuid === last);
        // The member after the last one offered, wrapping; a last one no longer a member starts over.
        let pick: Member | undefined;
        for (let i = 1; i <= ordered.length && pick === undefined; i++) {
          const m = ordered[(start + i + ordered.length) % ordered.length]!;
          if (inTier.has(m.uuid)) pick = m;
        }
        chosen = pick!;
        last = chosen.uuid;
        break;
      }
    }
    taken.add(chosen.uuid);
    proposals.push({ caller: caller.uuid, agents: [chosen.uuid] });
  }
  return proposals;
}

/**
 * When a waiting caller nobody took would reach a further tier (routing.md section 3), so the
 * queue is decided again then; null when no relaxation can change anything.
 */
export function nextRelaxation(read: RoutingRead, offeredCallers: ReadonlySet<string>): number | null {
  const relax = read.settings.relax_after_seconds;
  if (read.settings.strategy === 'manual' || relax <= 0 || read.members.length === 0) return null;
  const maxPenalty = Math.max(...read.members.map((m) => m.penalty));
  let next: number | null = null;
  for (const c of read.waiting) {
    if (offeredCallers.has(c.uuid)) continue;
    const open = openPenalty(relax, c.createdMs, read.nowMs);
    if (open >= maxPenalty) continue;
    const at = c.createdMs + (open + 1) * relax * 1000;
    if (next === null || at < next) next = at;
  }
  return next;
}
