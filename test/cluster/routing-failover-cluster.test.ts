/**
 * Routing through a node's death and a primary failover (issue 15, "one on the cluster with a node
 * and a primary killed"; protocol/routing.md sections 5 and 6), on a real Redis Cluster with a
 * replica per primary and real clocks (offer_timeout_seconds 1, sweeps every 100 ms):
 *
 *   - node D: `holdline serve` in its own process, its router sweeping; half the steps go through
 *     its REST API (joins, leaves, accepts, rejects);
 *   - node S: an in-process node (call store, event log, started router), the other half of the
 *     steps (and pauses, skill-tag changes, member moves between queues), and the survivor.
 *
 * fast-check draws the steps; part-way D is SIGKILLed (mid-sweep, perhaps holding leased queues or
 * engagements it never committed) and, at the same moment, the primary that owns queue 0's slot.
 * Steps keep going through S. Steps that fail for want of Redis (engine_unavailable, not_confirmed,
 * D's socket closing) are tolerated: they may or may not have happened, and no assertion depends
 * on them, since every invariant is read back from the cluster:
 *   - after every step, from one atomic read of each queue (route-read): no caller holds two offers
 *     (one for ring_all), no agent two offers in the queue, every offer's caller is not waiting and
 *     every offered agent is a member; across queues (reads A1 B1 A2 B2: an offer seen in A1 and A2
 *     was open during B1) no agent holds offers in both;
 *   - after the failover, with steps stopped: every waiting caller that an idle member may take
 *     (routing.md section 2, test/helpers/routing-oracle.ts) is offered — awaited with a generous
 *     bound, the dispatch bound being one sweep plus a decision — and every deadline D left behind
 *     fires on S: no offer stays open past its expiry;
 *   - in the event log (each event written with its change): an offer is made once, and times out
 *     at most once per agent, never both answered and timed out; the offers D made just before it
 *     died (a caller per queue joins through it) end on S;
 *   - strategy order on every decision S committed (test/helpers/routing-oracle.ts).
 * Shrinking is off: a run kills a node and a primary, which a shrunk run could not do again.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Offer, RoutingRead } from '../../src/engine/routing-types.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { isHoldlineError } from '../../src/errors.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { eligible, strategyViolations, watchDecisions, type Decision } from '../helpers/routing-oracle.js';
import { routingRig, type RoutingRig } from '../helpers/routing.js';
import { JSON_CT } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const STRATEGIES = ['longest_idle', 'round_robin', 'fewest_calls', 'linear', 'ring_all', 'random'] as const;
const SWEEP_MS = 100;

type Op =
  | { kind: 'join'; via: number; queue: number; skill: boolean }
  | { kind: 'leave'; via: number; pick: number }
  | { kind: 'accept' | 'reject'; via: number; pick: number; agent: number }
  | { kind: 'pause'; queue: number; agent: number; paused: boolean }
  | { kind: 'tag'; agent: number; on: boolean }
  | { kind: 'move'; queue: number; agent: number }
  | { kind: 'expire' };

const via = fc.integer({ min: 0, max: 1 });
const pick = fc.nat({ max: 20 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('join' as const), via, queue: fc.integer({ min: 0, max: 1 }), skill: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), via, pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('accept' as const), via, pick, agent: fc.nat({ max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reject' as const), via, pick, agent: fc.nat({ max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const), queue: fc.integer({ min: 0, max: 1 }), agent: fc.nat({ max: 3 }), paused: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tag' as const), agent: fc.nat({ max: 3 }), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), queue: fc.integer({ min: 0, max: 1 }), agent: fc.nat({ max: 3 }) }) },
);
const planArb = fc.record({
  strategies: fc.tuple(fc.constantFrom(...STRATEGIES), fc.constantFrom(...STRATEGIES)),
  before: fc.array(opArb, { minLength: 4, maxLength: 14 }),
  after: fc.array(opArb, { minLength: 4, maxLength: 12 }),
});

/** A step refused by a rule, or lost to the node's death or the failover: not an invariant's business. */
function tolerated(err: unknown): boolean {
  return isHoldlineError(err) || (err instanceof Error && /fetch failed|ECONNREFUSED|socket|other side closed/i.test(`${err.message} ${String(err.cause)}`));
}

/** A read, retried while the failover makes the cluster unreachable (the reads change nothing). */
async function reading<T>(read: () => Promise<T>): Promise<T> {
  let value: { v: T } | undefined;
  await until(
    async () => {
      try {
        value = { v: await read() };
        return true;
      } catch (err) {
        if (isHoldlineError(err) && err.code === 'engine_unavailable') return false;
        throw err;
      }
    },
    { what: 'a read of the cluster', timeoutMs: 30_000, intervalMs: 50 },
  );
  return value!.v;
}

/** D's REST answers: an answer or a documented refusal; a 5xx other than 503 (unavailable) is a bug. */
function answered(res: Response): void {
  expect(res.status < 500 || res.status === 503, `REST ${res.url} answered ${res.status}`).toBe(true);
}

/** No double offer within one atomic read of a queue; answers the offers' ids per agent. */
function checkRead(read: RoutingRead, what: string): Map<string, string> {
  const ringAll = read.settings.strategy === 'ring_all';
  const byCaller = new Set<string>();
  const byAgent = new Map<string, string>();
  const waiting = new Set(read.waiting.map((c) => c.uuid));
  const members = new Set(read.members.map((m) => m.uuid));
  if (ringAll) expect(read.offers.length, `${what}: ring_all offers at once`).toBeLessThanOrEqual(1);
  for (const o of read.offers) {
    expect(byCaller.has(o.caller_id), `${what}: caller ${o.caller_id} holds two offers`).toBe(false);
    byCaller.add(o.caller_id);
    expect(waiting.has(o.caller_id), `${what}: caller ${o.caller_id} waits while offered`).toBe(false);
    for (const a of o.agents) {
      expect(byAgent.has(a), `${what}: agent ${a} holds two offers`).toBe(false);
      expect(members.has(a), `${what}: agent ${a} offered but not a member`).toBe(true);
      byAgent.set(a, o.offer_id);
    }
  }
  return byAgent;
}

describe('routing on a Redis Cluster: a node SIGKILLed and a primary failed over mid-run', () => {
  let cluster: RedisClusterHandle;
  const adminKey = randomBytes(12).toString('hex');
  const prefix = freshPrefix('rtfail');
  let s: EventNode;
  let rig: RoutingRig;
  const doomed: HoldlineProcess[] = [];
  /** Every decision S committed: strategy order holds on each (test/helpers/routing-oracle.ts). */
  const decisions: Decision[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    s = await eventNodeFactories.find((f) => f.name === 'redis')!.open({ url: cluster.url, prefix, sweepIntervalMs: 500 });
    rig = routingRig(s.calls, { sweepMs: SWEEP_MS });
    watchDecisions(rig, (d) => decisions.push(d));
    rig.router.start();
  }, 60_000);
  afterAll(async () => {
    for (const d of doomed) await d.kill('SIGKILL');
    await rig?.router.stop();
    await s?.close();
    await cluster?.stop();
  });

  it('no double offer, no lost offer, deadlines fired once by the survivor', async () => {
    const keys = new RedisKeys(prefix);
    const hasReplica = (key: string): Promise<boolean> => cluster.replicaOf(key).then(() => true, () => false);
    const tally = { steps: 0, tolerated: 0, offers: 0, timeouts: 0, leftBehind: 0, leftBehindTimedOut: 0 };

    await fc.assert(
      fc.asyncProperty(planArb, async (plan) => {
        const d = await startHoldlineProcess({
          HOLDLINE_ENGINE: 'redis',
          HOLDLINE_REDIS_URL: cluster.url,
          HOLDLINE_REDIS_PREFIX: prefix,
          HOLDLINE_ADMIN_KEY: adminKey,
          HOLDLINE_ROUTING_SWEEP_MS: String(SWEEP_MS),
        });
        doomed.push(d);
        const app = `rt${randomBytes(4).toString('hex')}`;
        const created = await fetch(`${d.url}/v1/apps`, { method: 'POST', headers: { ...JSON_CT, authorization: `Admin ${adminKey}` }, body: JSON.stringify({ name: app }) });
        expect(created.status).toBe(201);
        const { key } = (await created.json()) as { key: string };
        const auth = { ...JSON_CT, authorization: `Application ${key}` };
        let dAlive = true;

        // Two queues with offers that time out after 1 s; agents 1 and 2 serve both.
        const queues: string[] = [];
        for (let q = 0; q < 2; q++) {
          let id = (await rig.calls.createQueue(app, { name: `q${q}` })).uuid;
          // Queue 0 on a primary that still has a replica to take over.
          for (let i = 0; q === 0 && i < 30 && !(await hasReplica(keys.callQueue(app, id)[0])); i++) id = (await rig.calls.createQueue(app, { name: `q0-${i}` })).uuid;
          await rig.routing.putSettings(app, id, { strategy: plan.strategies[q], offer_timeout_seconds: 1 });
          queues.push(id);
        }
        const victimKey = keys.callQueue(app, queues[0]!)[0];
        expect(await hasReplica(victimKey), 'queue 0 on a primary with a replica').toBe(true);
        await rig.calls.createTag(app, { tag: 'skill' });
        const agents: string[] = [];
        for (let a = 0; a < 4; a++) {
          const id = (await rig.calls.createAgent(app, { name: `a${a}` })).uuid;
          agents.push(id);
          for (let q = 0; q < 2; q++) if ((q === 0 && a <= 2) || (q === 1 && a >= 1)) await rig.calls.addMember(app, queues[q]!, { agent_id: id, number: `10${a}` });
          if (a % 2 === 0) await rig.calls.tagAgent(app, 'skill', { agent_id: id });
        }

        const readAll = async (): Promise<RoutingRead[]> => reading(() => Promise.all(queues.map((q) => rig.store.routing.readRouting(app, q))));
        const openOffers = async (): Promise<Offer[]> => (await readAll()).flatMap((r) => r.offers);
        const invariants = async (what: string): Promise<void> => {
          const q0a = await reading(() => rig.store.routing.readRouting(app, queues[0]!));
          const q1a = await reading(() => rig.store.routing.readRouting(app, queues[1]!));
          const q0b = await reading(() => rig.store.routing.readRouting(app, queues[0]!));
          const q1b = await reading(() => rig.store.routing.readRouting(app, queues[1]!));
          const [a0, a1, b0, b1] = [checkRead(q0a, `${what} q0`), checkRead(q1a, `${what} q1`), checkRead(q0b, `${what} q0`), checkRead(q1b, `${what} q1`)];
          for (const [agent, offer] of a0) if (b0.get(agent) === offer) expect(a1.has(agent), `${what}: agent ${agent} offered in both queues`).toBe(false);
          for (const [agent, offer] of a1) if (b1.get(agent) === offer) expect(b0.has(agent), `${what}: agent ${agent} offered in both queues`).toBe(false);
        };

        const step = async (op: Op): Promise<void> => {
          const rest = 'via' in op && op.via === 1 && dAlive;
          const post = async (path: string, body: unknown) => answered(await fetch(`${d.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) }));
          switch (op.kind) {
            case 'join': {
              const q = queues[op.queue]!;
              const body = op.skill ? { number: '1', required_tags: ['skill'] } : { number: '1' };
              if (rest) await post(`/v1/queues/${q}/callers`, body);
              else await rig.calls.joinCaller(app, q, body);
              return;
            }
            case 'leave': {
              const all = (await Promise.all(queues.map(async (q) => (await s.calls.snapshot(app, q)).callers.map((c) => ({ q, c: c.uuid }))))).flat();
              if (all.length === 0) return;
              const { q, c } = all[op.pick % all.length]!;
              if (rest) answered(await fetch(`${d.url}/v1/queues/${q}/callers/${c}?reason=abandoned`, { method: 'DELETE', headers: auth, signal: AbortSignal.timeout(10_000) }));
              else await rig.calls.leaveCaller(app, q, c, 'abandoned');
              return;
            }
            case 'accept':
            case 'reject': {
              const open = await openOffers();
              if (open.length === 0) return;
              const o = open[op.pick % open.length]!;
              const who = o.agents[op.agent % o.agents.length]!;
              if (rest) await post(`/v1/queues/${o.queue_id}/offers/${o.offer_id}/${op.kind}`, { agent_id: who });
              else await rig.routing.answer({ kind: 'application', app }, o.queue_id, o.offer_id, op.kind, { agent_id: who });
              return;
            }
            case 'pause':
              await rig.calls.updateMember(app, queues[op.queue]!, agents[op.agent]!, { paused: op.paused });
              return;
            case 'tag':
              if (op.on) await rig.calls.tagAgent(app, 'skill', { agent_id: agents[op.agent]! });
              else await rig.calls.untagAgent(app, 'skill', agents[op.agent]!);
              return;
            case 'move': {
              // A member moves: removed from the queue where it serves, added where it does not.
              const q = queues[op.queue]!;
              const a = agents[op.agent]!;
              if ((await rig.calls.listMembers(app, q)).some((m) => m.uuid === a)) await rig.calls.removeMember(app, q, a);
              else await rig.calls.addMember(app, q, { agent_id: a, number: '1999' });
              return;
            }
            case 'expire': {
              // Real clocks: past every open offer's deadline; the routers' sweeps fire them.
              const last = Math.max(0, ...(await openOffers()).map((o) => Date.parse(o.expires_at)));
              await until(() => Date.now() > last + 5, { what: 'the offers to expire' });
            }
          }
        };
        const run = async (ops: Op[], phase: string): Promise<void> => {
          for (const [i, op] of ops.entries()) {
            tally.steps++;
            try {
              await step(op);
            } catch (err) {
              if (!tolerated(err)) throw err;
              tally.tolerated++;
            }
            await invariants(`${phase} step ${i} (${op.kind})`);
          }
        };

        await run(plan.before, 'before');
        // A caller per queue joins through D, so D decides: offers whose deadlines D leaves behind.
        for (const q of queues) answered(await fetch(`${d.url}/v1/queues/${q}/callers`, { method: 'POST', headers: auth, body: JSON.stringify({ number: '2' }) }));
        const leftBehind = new Set((await openOffers()).map((o) => o.offer_id));
        // Node D dies without a goodbye, and queue 0's primary with it.
        const failover = cluster.failover(victimKey);
        dAlive = false;
        await d.kill('SIGKILL');
        try {
          await run(plan.after.slice(0, 3), 'during');
        } finally {
          await failover;
        }
        await run(plan.after.slice(3), 'after');

        // Quiet now: every expired deadline fires on S, and every waiting caller an idle member may
        // take is offered (generous bounds: what is asserted is that it happens, not how fast).
        await until(async () => (await openOffers()).every((o) => Date.parse(o.expires_at) + 1000 > Date.now()), {
          what: 'every deadline fired by the survivor',
          timeoutMs: 30_000,
          intervalMs: 50,
        });
        await until(
          async () => {
            for (const read of await readAll()) {
              const agentsRead = await reading(() => rig.store.routing.readAgents(app, read.members.map((m) => m.uuid)));
              if (read.settings.strategy === 'ring_all' && read.offers.length > 0) continue;
              const taken = new Set<string>();
              if (read.waiting.some((c) => eligible(read, agentsRead, c, taken).length > 0)) return false;
            }
            return true;
          },
          { what: 'every waiting caller with an eligible idle member offered', timeoutMs: 30_000, intervalMs: 50 },
        );
        await invariants('at the end');

        // The event log: each offer made once; its deadline fired at most once per agent, and never
        // for an agent that answered it.
        await s.engine.events.flush();
        const log = (await s.engine.events.readSince(app, 0, 100_000)) ?? [];
        const traits = (e: (typeof log)[number]) => Object.fromEntries(e.event.traits.map((t) => [t.name, t.value]));
        const made = new Map<string, number>();
        const ended = new Map<string, string[]>();
        for (const e of log) {
          const t = traits(e);
          if (e.event.event_type === 'queue.caller.offer') made.set(String(t.offer_id), (made.get(String(t.offer_id)) ?? 0) + 1);
          const end = /^queue\.caller\.offer\.(accept|reject|timeout)$/.exec(e.event.event_type);
          if (end !== null) {
            const k = `${t.offer_id}|${t.agent_id}`;
            ended.set(k, [...(ended.get(k) ?? []), end[1]!]);
          }
        }
        for (const [offer, n] of made) expect(n, `offer ${offer} recorded ${n} times`).toBe(1);
        for (const [k, ends] of ended) {
          expect(ends.length, `offer|agent ${k} ended ${ends.join(', ')}`).toBe(1);
          expect(made.has(k.split('|')[0]!), `offer of ${k} was made`).toBe(true);
        }
        // The offers open when D died were ended on S, each agent's part once (a timeout, unless answered).
        for (const offer of leftBehind) expect(made.get(offer), `offer ${offer} left by D`).toBe(1);
        tally.leftBehind += leftBehind.size;
        tally.leftBehindTimedOut += [...ended].filter(([k, x]) => leftBehind.has(k.split('|')[0]!) && x[0] === 'timeout').length;
        tally.offers += made.size;
        tally.timeouts += [...ended.values()].filter((x) => x[0] === 'timeout').length;
      }),
      { numRuns: 2, endOnFailure: true },
    );
    for (const d of decisions) expect(strategyViolations(d), `decision at seq ${d.read.seq}`).toEqual([]);
    console.info(`routing failover model: ${JSON.stringify({ ...tally, decisionsOnS: decisions.length })}`);
    expect(tally.offers).toBeGreaterThan(0);
  }, 240_000);
});
