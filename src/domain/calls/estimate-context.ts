/**
 * What the estimated wait needs from routing besides the queue's snapshot (protocol/routing.md
 * section 9): the wrap-up, the skills the queue and each waiting caller require, the agents' tags,
 * the members' tiers and the tier relaxation. One read of routing's step 1 (and the agents' tags),
 * so a caller's pool is the one routing itself would offer it to.
 */
import type { RoutingStore } from '../../engine/routing-types.js';
import { agentFree } from './routing/strategy.js';

export interface EstimateContext {
  wrapupSeconds: number;
  /** The queue's required tags. */
  requiredTags: readonly string[];
  relaxAfterSeconds: number;
  /** Member (agent) uuid → its penalty (tier) in the queue. */
  penalties: ReadonlyMap<string, number>;
  /** Agent uuid → its tags. */
  agentTags: ReadonlyMap<string, readonly string[]>;
  /** Waiting caller uuid → its own required tags, in position order. */
  callerTags: ReadonlyMap<string, readonly string[]>;
  /** Waiting caller uuid → when it joined (ms), in the same order (its tiers open from there). */
  callerJoinedMs: ReadonlyMap<string, number>;
  /** Agents an open one-agent offer names (on their way to a call). */
  offered: ReadonlySet<string>;
  /**
   * The agents engaged at the read (routing.md section 5): by this queue's offers and calls (which
   * the member's status already says) or by another queue's (which only this says).
   */
  engaged: ReadonlySet<string>;
}

export const NO_ROUTING: EstimateContext = {
  wrapupSeconds: 0, requiredTags: [], relaxAfterSeconds: 0, penalties: new Map(), agentTags: new Map(), callerTags: new Map(), callerJoinedMs: new Map(), offered: new Set(), engaged: new Set(),
};

/**
 * The context from a routing store. A `manual` queue is not routed by Holdline (the PBX picks the
 * member), so its skills and tiers are not modelled: every member may take every caller.
 */
export function routingEstimateContext(store: RoutingStore): (app: string, queueId: string) => Promise<EstimateContext> {
  return async (app, queueId) => {
    const settings = await store.getRoutingSettings(app, queueId);
    if (settings.strategy === 'manual') return { ...NO_ROUTING, wrapupSeconds: settings.wrapup_seconds };
    const read = await store.readRouting(app, queueId);
    const agents = await store.readAgents(app, read.members.map((m) => m.uuid));
    return {
      wrapupSeconds: read.settings.wrapup_seconds,
      requiredTags: read.settings.required_tags,
      relaxAfterSeconds: read.settings.relax_after_seconds,
      penalties: new Map(read.members.map((m) => [m.uuid, m.penalty])),
      agentTags: new Map([...agents].map(([uuid, a]) => [uuid, a.tags])),
      callerTags: new Map(read.waiting.map((c) => [c.uuid, c.requiredTags])),
      callerJoinedMs: new Map(read.waiting.map((c) => [c.uuid, c.createdMs])),
      offered: new Set(read.offers.flatMap((o) => (o.agents.length === 1 ? o.agents : []))),
      engaged: new Set([...agents].flatMap(([uuid, a]) => (agentFree(a, read.nowMs) ? [] : [uuid]))),
    };
  };
}
