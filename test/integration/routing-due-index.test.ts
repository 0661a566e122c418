/**
 * The due index under two nodes' sweeps (protocol/routing.md section 6), on both stores (memory: two
 * Routers on one store; Redis: two stores on one prefix, as two Holdline nodes). Drives, step by
 * step, the interleaving that lost a ring_all offer's only deadline in routing-wire-model.test.ts
 * (the offer stayed open and held on the desks for good):
 *   1. node 0's sweep claims the queue (leased);
 *   2. a change marks it due (any node: a join, an answer, an engagement released), so
 *   3. node 1's sweep claims it too, and ticks (nothing open yet);
 *   4. node 0 ticks, decides and commits an offer, and settles the queue at the offer's expiry;
 *   5. node 1 reads the queue (the offer is there: nothing to decide) and settles it with the
 *      deadline it knows, none: that settle removed the queue from the due index (step 3's claim
 *      had cleared the mark of step 2, and node 0's settle left none), so the offer never expired.
 * A settle now counts only for the claim that is still the queue's latest with no mark since;
 * otherwise the queue is left due at once, for a sweep that reads it afresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../../src/domain/calls/routing/router.js';
import type { CallStore } from '../../src/engine/call-types.js';
import { DEFAULT_ROUTING, type RoutingRead, type RoutingStore } from '../../src/engine/routing-types.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { members, routingRig } from '../helpers/routing.js';
import { until } from '../helpers/wait.js';

const APP = 'acme';

/** A promise and its resolver: one step of the interleaving waits for another. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** The store, with some methods replaced (this node's view of it; the other node's is unchanged). */
function withSteps(store: RoutingStore, steps: Partial<RoutingStore>): RoutingStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const own = (steps as Record<string | symbol, unknown>)[prop];
      if (own !== undefined) return own;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe.each(callStoreFactories)('routing due index, two nodes ($name store)', (factory) => {
  const opened: CallStore[] = [];
  const routers: Router[] = [];
  afterEach(async () => {
    for (const r of routers.splice(0)) await r.stop();
    for (const s of opened.splice(0)) await s.close();
  });

  it("a sweep that read the queue before the other node's sweep committed an offer does not drop the offer's deadline", async () => {
    const prefix = freshPrefix('routing-due');
    const s0 = await factory.open({ prefix });
    opened.push(s0);
    const s1 = factory.name === 'memory' ? s0 : await factory.open({ prefix });
    if (s1 !== s0) opened.push(s1);
    const rig = routingRig(s0);
    routers.push(rig.router);
    const rs0 = rig.store.routing;
    const rs1 = (s1 as CallStore & { routing: RoutingStore }).routing;

    // A ring_all queue with a waiting caller and no offer yet, due now: routing was manual while the
    // members and the caller came (nothing decided), then switched on in the store and marked due.
    const queue = (await rig.calls.createQueue(APP, { name: 'support' })).uuid;
    await members(rig, APP, queue, [{ name: 'a' }, { name: 'b' }]);
    const caller = (await rig.calls.joinCaller(APP, queue, { number: '6135551234' })).value.uuid;
    await rs0.setRoutingSettings(APP, queue, { ...DEFAULT_ROUTING, required_tags: [], strategy: 'ring_all', offer_timeout_seconds: 1 });
    await rs0.markDue(APP, queue, 0);

    const claimed0 = gate();
    const claimed1 = gate();
    const settled0 = gate();
    let firstTick0 = true;
    let firstTick1 = true;
    let firstRead1 = true;
    let read1: RoutingRead | null = null;
    const errors: unknown[] = [];
    const node0 = new Router(
      withSteps(rs0, {
        // (1) claimed; waits for node 1's claim and tick (3), then ticks and decides (4).
        tick: async (app, q) => {
          if (firstTick0) {
            firstTick0 = false;
            claimed0.open();
            await claimed1.opened;
          }
          return rs0.tick(app, q);
        },
        settleDue: async (...args) => {
          await rs0.settleDue(...args);
          settled0.open();
        },
      }),
      { onError: (e) => errors.push(e) },
    );
    const node1 = new Router(
      withSteps(rs1, {
        // (3) claimed and ticked before node 0 commits.
        tick: async (app, q) => {
          const out = await rs1.tick(app, q);
          if (firstTick1) {
            firstTick1 = false;
            claimed1.open();
          }
          return out;
        },
        // (5) reads once node 0 has committed and settled.
        readRouting: async (app, q) => {
          if (firstRead1) {
            firstRead1 = false;
            await settled0.opened;
            read1 = await rs1.readRouting(app, q);
            return read1;
          }
          return rs1.readRouting(app, q);
        },
      }),
      { onError: (e) => errors.push(e) },
    );
    routers.push(node0, node1);

    const sweep0 = node0.sweep();
    await claimed0.opened;
    // (2) a change marks the queue due while node 0 holds it.
    await rs1.markDue(APP, queue, 0);
    await Promise.all([sweep0, node1.sweep()]);
    expect(errors).toEqual([]);

    // The interleaving happened: node 0 committed the offer, node 1 read it before settling.
    const [offer] = await rs0.listOffers(APP, queue);
    expect(offer).toMatchObject({ caller_id: caller, strategy: 'ring_all' });
    expect(offer!.agents).toHaveLength(2);
    expect((read1 as RoutingRead | null)?.offers.map((o) => o.offer_id)).toEqual([offer!.offer_id]);

    // Sweeps from here on: the offer expires (1 s) and a sweep fires it; nothing else changes.
    await until(
      async () => {
        await node0.sweep();
        await node1.sweep();
        return !(await rs0.listOffers(APP, queue)).some((o) => o.offer_id === offer!.offer_id);
      },
      { timeoutMs: 5000, intervalMs: 50, what: `offer ${offer!.offer_id} to expire (its deadline in the due index)` },
    );
    expect(errors).toEqual([]);
  });
});
