/**
 * The live positions property (issue 4, SPEC.md 4 "Positions"), model-based with fast-check
 * commands: two Holdline servers sharing one real Redis (two RedisEngines, two Redis call stores,
 * one prefix), an agent following the call queue through the SDK (HoldlineClient.callQueue →
 * CallQueueView) on each server. Each command is a batch of random joins, leaves, priority and
 * status changes and pauses, issued concurrently through REST on random servers. After every
 * command, both agents' views, GET /v1/queues/{id}/callers on both servers and a plain model agree
 * on every caller's status and every waiting caller's exact position — and the views got there by
 * applying updates only (no resubscription, no second snapshot).
 *
 * Concurrent joins of equal priority may be serialised either way: the model learns the order the
 * store chose from the seq of each caller_joined update (as test/integration/calls-model.test.ts).
 * Ops of one batch touch distinct callers and members, and each makes exactly one change, so the
 * model knows the seq every view must reach.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HoldlineClient, type CallQueueView } from '../../src/client/index.js';
import { startNodes, stopNodes, type HoldlineNode } from '../cluster/nodes.js';
import { freshPrefix } from '../helpers/namespace.js';
import { call } from '../helpers/server.js';

const SERVERS = 2;
const REASONS = ['answered', 'abandoned', 'timeout', 'transferred'] as const;

type Status = 'waiting' | 'ringing' | 'connected';

interface ModelCaller {
  priority: number;
  status: Status;
  /** Seq of its caller_joined update: the store's join order. */
  joined: number;
}

interface Model {
  callers: Map<string, ModelCaller>;
  /** Per member index (0, 1): paused. */
  paused: boolean[];
  /** The queue's seq: every op makes exactly one change. */
  seq: number;
}

interface Real {
  queue: string;
  agents: string[];
  views: CallQueueView[];
  /** caller uuid → seq of its caller_joined, from the first view's updates. */
  joinedAt: Map<string, number>;
  /** Resubscriptions and extra snapshots the views went through (must stay empty). */
  troubles: string[];
}

type Op =
  | { kind: 'join'; server: number; priority: number }
  | { kind: 'leave'; server: number; pick: number; reason: number }
  | { kind: 'priority'; server: number; pick: number; priority: number }
  | { kind: 'status'; server: number; pick: number; member: number; alt: boolean }
  | { kind: 'pause'; server: number; member: number };

const server = fc.integer({ min: 0, max: SERVERS - 1 });
const priority = fc.integer({ min: 0, max: 3 });
const member = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), server, priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), server, pick: fc.nat(), reason: fc.nat({ max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('priority' as const), server, pick: fc.nat(), priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('status' as const), server, pick: fc.nat(), member, alt: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), server, member }) },
);

function expectedLine(model: Model): string[] {
  return [...model.callers.entries()]
    .filter(([, c]) => c.status === 'waiting')
    .sort(([, a], [, b]) => b.priority - a.priority || a.joined - b.joined)
    .map(([uuid]) => uuid);
}

/** Resolves once the view's seq reaches `seq` (each applied update emits `change`). */
function reach(view: CallQueueView, seq: number): Promise<void> {
  if ((view.seq ?? -1) >= seq) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`view of ${view.queueId} stuck at seq ${view.seq}, expected ${seq}`));
    }, 10_000);
    const off = view.on('change', () => {
      if ((view.seq ?? -1) < seq) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

describe('live positions: two servers on one Redis, an SDK agent view on each', () => {
  let nodes: HoldlineNode[] = [];
  let key: string;
  const clients: HoldlineClient[] = [];

  beforeAll(async () => {
    nodes = await startNodes(SERVERS, inject('redisUrl'), freshPrefix('live'));
    key = (await nodes[0]!.server.createApp()).key;
  }, 30_000);
  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close();
    await stopNodes(nodes);
  });

  const rest = (node: number, method: string, path: string, body?: unknown) => call(nodes[node]!.server, key, method, path, body);

  class Batch implements fc.AsyncCommand<Model, Real> {
    constructor(readonly ops: Op[]) {}

    check(): boolean {
      return true;
    }

    async run(model: Model, real: Real): Promise<void> {
      const { queue } = real;
      const usedCallers = new Set<string>();
      const usedMembers = new Set<number>();
      const requests: Array<() => Promise<() => void>> = this.ops.map((op) => {
        const free = [...model.callers.keys()].filter((u) => !usedCallers.has(u));
        if (op.kind === 'pause' && !usedMembers.has(op.member)) {
          usedMembers.add(op.member);
          const paused = !model.paused[op.member];
          return async () => {
            const body = paused ? { paused, pause_reason: 'break' } : { paused };
            expect((await rest(op.server, 'PUT', `/v1/queues/${queue}/members/${real.agents[op.member]}`, body)).status).toBe(200);
            return () => (model.paused[op.member] = paused);
          };
        }
        if (op.kind === 'join' || op.kind === 'pause' || free.length === 0) {
          const p = op.kind === 'join' ? op.priority : 0;
          return async () => {
            const r = await rest(op.server, 'POST', `/v1/queues/${queue}/callers`, { name: 'c', number: '6135550000', priority: p });
            expect(r.status).toBe(201);
            return () => model.callers.set(r.body.uuid as string, { priority: p, status: 'waiting', joined: -1 });
          };
        }
        const uuid = free[op.pick % free.length]!;
        usedCallers.add(uuid);
        const cur = model.callers.get(uuid)!;
        const path = `/v1/queues/${queue}/callers/${uuid}`;
        if (op.kind === 'leave') {
          return async () => {
            expect((await rest(op.server, 'DELETE', `${path}?reason=${REASONS[op.reason]}`)).status).toBe(204);
            return () => model.callers.delete(uuid);
          };
        }
        // A status the caller may move to (calls.md 3); a connected caller can only change priority.
        const next: Status | null =
          op.kind !== 'status' || cur.status === 'connected' ? null : cur.status === 'waiting' ? (op.alt ? 'connected' : 'ringing') : op.alt ? 'connected' : 'waiting';
        if (next !== null) {
          const body = next === 'waiting' ? { status: next } : { status: next, member_uuid: real.agents[op.kind === 'status' ? op.member : 0] };
          return async () => {
            expect((await rest(op.server, 'PUT', path, body)).status).toBe(200);
            return () => (cur.status = next);
          };
        }
        // A real change of priority, so that every op makes exactly one change.
        const wanted = op.kind === 'priority' ? op.priority : cur.priority + 1;
        const p = wanted === cur.priority ? wanted + 1 : wanted;
        return async () => {
          expect((await rest(op.server, 'PUT', path, { priority: p })).status).toBe(200);
          return () => (cur.priority = p);
        };
      });
      const applies = await Promise.all(requests.map((issue) => issue()));
      for (const apply of applies) apply();
      model.seq += this.ops.length;

      await Promise.all(real.views.map((v) => reach(v, model.seq)));
      for (const [uuid, c] of model.callers) if (c.joined < 0) c.joined = real.joinedAt.get(uuid)!;
      const line = expectedLine(model);
      const statuses = [...model.callers.entries()].map(([uuid, c]) => [uuid, c.status]).sort();

      for (const view of real.views) {
        expect(view.seq).toBe(model.seq);
        expect(view.waiting.map((c) => [c.uuid, c.position])).toEqual(line.map((u, i) => [u, i]));
        expect(view.callers.map((c) => [c.uuid, c.status]).sort()).toEqual(statuses);
        expect(real.agents.map((a) => view.members.find((m) => m.uuid === a)?.paused)).toEqual(model.paused);
      }
      for (let n = 0; n < SERVERS; n++) {
        const listed = await rest(n, 'GET', `/v1/queues/${queue}/callers`);
        expect(listed.status).toBe(200);
        const callers = listed.body as Array<{ uuid: string; position: number | null; status: Status }>;
        expect(callers.filter((c) => c.status === 'waiting').map((c) => [c.uuid, c.position])).toEqual(line.map((u, i) => [u, i]));
        expect(callers.map((c) => [c.uuid, c.status]).sort()).toEqual(statuses);
      }
      expect(real.troubles).toEqual([]);
    }

    toString(): string {
      return `Batch(${this.ops.map((o) => JSON.stringify(o)).join(', ')})`;
    }
  }

  /** A fresh queue with two member agents, each following it through the SDK on its own server. */
  async function setup(): Promise<{ model: Model; real: Real }> {
    const queue = (await rest(0, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const agents: string[] = [];
    for (let i = 0; i < SERVERS; i++) {
      const agent = (await rest(0, 'POST', '/v1/agents', { name: `agent${i}` })).body.uuid as string;
      expect((await rest(0, 'POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: `100${i}` })).status).toBe(201);
      agents.push(agent);
    }
    const real: Real = { queue, agents, views: [], joinedAt: new Map(), troubles: [] };
    for (let i = 0; i < SERVERS; i++) {
      const token = (await rest(0, 'POST', `/v1/agents/${agents[i]}/tokens`, { ttl: 600 })).body.token as string;
      const client = new HoldlineClient({ urls: `${nodes[i]!.url.replace(/^http/, 'ws')}/v1/ws`, token });
      clients.push(client);
      const view = client.callQueue(queue);
      view.on('resubscribing', (r) => real.troubles.push(`view ${i} resubscribing: ${r.detail}`));
      view.on('subscribed', () => void (view.seq === null || real.troubles.push(`view ${i} subscribed again`)));
      view.on('change', (c) => {
        if (c.kind === 'update' && c.update.kind === 'caller_joined') real.joinedAt.set(c.update.caller.uuid, c.update.seq);
      });
      await view.ready;
      real.views.push(view);
    }
    return { model: { callers: new Map(), paused: [false, false], seq: 2 }, real };
  }

  it('after every concurrent batch, the agents’ views, REST on both servers and the model agree', { timeout: 50_000 }, async () => {
    const batchArb = fc.array(opArb, { minLength: 1, maxLength: 4 }).map((ops) => new Batch(ops));
    await fc.assert(
      fc.asyncProperty(fc.commands([batchArb], { maxCommands: 15 }), async (cmds) => {
        await fc.asyncModelRun(setup, cmds);
        for (const c of clients.splice(0)) await c.close();
      }),
      { numRuns: 25 },
    );
  });
});
