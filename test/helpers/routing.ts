/**
 * A routing set-up over a call store (protocol/routing.md): the CallService with routing's hooks,
 * the Router (not started: tests sweep by hand, or start it), the RoutingService, and helpers to
 * make an application's agents, members and callers.
 */
import type { CallStore } from '../../src/engine/call-types.js';
import type { RoutingStore } from '../../src/engine/routing-types.js';
import { Router } from '../../src/domain/calls/routing/router.js';
import { RoutingService } from '../../src/domain/calls/routing/service.js';
import { CallService } from '../../src/domain/calls/service.js';

export interface RoutingRig {
  store: CallStore & { routing: RoutingStore };
  calls: CallService;
  router: Router;
  routing: RoutingService;
  errors: unknown[];
}

export function routingRig(store: CallStore, opts: { random?: () => number; sweepMs?: number } = {}): RoutingRig {
  const rs = (store as { routing?: RoutingStore }).routing;
  if (rs === undefined) throw new Error('this call store has no routing');
  const errors: unknown[] = [];
  const router = new Router(rs, { onError: (e) => errors.push(e), ...opts });
  const routing = new RoutingService(router, (e) => errors.push(e));
  const calls = new CallService(store, { routing });
  return { store: store as RoutingRig['store'], calls, router, routing, errors };
}

/** Agents (with tags) made members of a queue, in this order. */
export async function members(
  rig: RoutingRig,
  app: string,
  queue: string,
  specs: { name: string; tags?: string[]; penalty?: number }[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const s of specs) {
    // Members are ordered by created_at (ms), then uuid: one member per millisecond keeps the
    // order of `specs` (the clock is the same one the stores stamp with).
    const t = Date.now();
    while (Date.now() === t) await new Promise((r) => setImmediate(r));
    const agent = (await rig.calls.createAgent(app, { name: s.name })).uuid;
    for (const t of s.tags ?? []) await rig.calls.tagAgent(app, t, { agent_id: agent });
    await rig.calls.addMember(app, queue, { agent_id: agent, number: '1001@example.org' });
    if (s.penalty !== undefined) await rig.routing.putMember(app, queue, agent, { penalty: s.penalty });
    ids.push(agent);
  }
  return ids;
}
