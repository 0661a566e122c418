/**
 * Model-based test of waiting-line positions (issue 4, "What must hold"): random joins, leaves,
 * priority and status changes and member pauses, issued in concurrent batches through two store
 * instances on one real Redis (two Holdline nodes), and on the memory store. After every batch a
 * plain model, each node's snapshot, and a follower on each node built only from the change events
 * must agree on every caller's position, status, priority and member, and seqs must be contiguous.
 *
 * The model learns the order the store serialised a batch in from the seqs the changes carry; the
 * operations of one batch touch distinct callers and members, so that order is the only freedom.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CALLER_TRANSITIONS,
  LEAVE_REASONS,
  type CallQueueChange,
  type CallStore,
  type CallerStatus,
  type LeaveReason,
} from '../../src/engine/call-types.js';
import { Follower, callStoreFactories } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';

const APP = 'acme';

type Op =
  | { kind: 'join'; node: number; priority: number }
  | { kind: 'leave'; node: number; pick: number; reason: LeaveReason }
  | { kind: 'priority'; node: number; pick: number; priority: number }
  | { kind: 'status'; node: number; pick: number; choice: number }
  | { kind: 'pause'; node: number; member: number };

interface ModelCaller {
  priority: number;
  status: CallerStatus;
  member: string | null;
  /** Seq of its join: the store's join order. */
  joined: number;
}

class Model {
  seq = 0;
  readonly callers = new Map<string, ModelCaller>();
  readonly paused: boolean[] = [false, false];

  line(): string[] {
    return [...this.callers.entries()]
      .filter(([, c]) => c.status === 'waiting')
      .sort(([, a], [, b]) => b.priority - a.priority || a.joined - b.joined)
      .map(([uuid]) => uuid);
  }
}

interface Real {
  nodes: [CallStore, CallStore];
  queue: string;
  members: [string, string];
  followers: Follower[];
}

/** One operation made concrete against the model: what to call and how to apply its change. */
interface Planned {
  node: number;
  run(r: Real): Promise<CallQueueChange>;
  apply(m: Model, change: CallQueueChange): void;
}

function plan(ops: Op[], m: Model, r: Real): Planned[] {
  const used = new Set<string>();
  const usedMembers = new Set<number>();
  const free = () => [...m.callers.keys()].filter((u) => !used.has(u));
  const join = (node: number, priority: number): Planned => ({
    node,
    run: async (real) => (await real.nodes[node]!.joinCaller(APP, real.queue, { name: 'c', number: '6135551234', priority })).change!,
    apply: (model, change) => {
      if (change.kind !== 'caller_joined') throw new Error(`expected caller_joined, got ${change.kind}`);
      model.callers.set(change.caller.uuid, { priority, status: 'waiting', member: null, joined: change.seq });
    },
  });
  return ops.map((op): Planned => {
    if (op.kind === 'join') return join(op.node, op.priority);
    if (op.kind === 'pause') {
      if (usedMembers.has(op.member)) return join(op.node, 0);
      usedMembers.add(op.member);
      const paused = !m.paused[op.member];
      return {
        node: op.node,
        run: async (real) => (await real.nodes[op.node]!.updateMember(APP, real.queue, real.members[op.member as 0 | 1], { paused })).change!,
        apply: (model) => {
          model.paused[op.member] = paused;
        },
      };
    }
    const candidates = free();
    if (candidates.length === 0) return join(op.node, 1);
    const uuid = candidates[op.pick % candidates.length]!;
    used.add(uuid);
    const cur = m.callers.get(uuid)!;
    if (op.kind === 'leave' || (op.kind === 'status' && CALLER_TRANSITIONS[cur.status].length === 0)) {
      const reason = op.kind === 'leave' ? op.reason : 'answered';
      return {
        node: op.node,
        run: async (real) => (await real.nodes[op.node]!.leaveCaller(APP, real.queue, uuid, reason)).change,
        apply: (model) => {
          model.callers.delete(uuid);
        },
      };
    }
    if (op.kind === 'priority') {
      const priority = op.priority === cur.priority ? op.priority + 1 : op.priority;
      return {
        node: op.node,
        run: async (real) => (await real.nodes[op.node]!.updateCaller(APP, real.queue, uuid, { priority })).change!,
        apply: (model) => {
          model.callers.get(uuid)!.priority = priority;
        },
      };
    }
    const allowed = CALLER_TRANSITIONS[cur.status];
    const status = allowed[op.choice % allowed.length]!;
    const member = status === 'waiting' ? null : r.members[op.choice % 2]!;
    return {
      node: op.node,
      run: async (real) =>
        (await real.nodes[op.node]!.updateCaller(APP, real.queue, uuid, member === null ? { status } : { status, member_uuid: member })).change!,
      apply: (model) => {
        const c = model.callers.get(uuid)!;
        c.status = status;
        c.member = member;
      },
    };
  });
}

class Batch implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ops: Op[]) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const planned = plan(this.ops, m, r);
    const changes = await Promise.all(planned.map((p) => p.run(r)));
    const order = changes.map((c, i) => ({ c, p: planned[i]! })).sort((a, b) => a.c.seq - b.c.seq);
    expect(order.map((x) => x.c.seq)).toEqual(order.map((_, i) => m.seq + 1 + i));
    for (const { c, p } of order) p.apply(m, c);
    m.seq += order.length;
    await verify(m, r);
  }

  toString(): string {
    return `Batch(${JSON.stringify(this.ops)})`;
  }
}

async function verify(m: Model, r: Real): Promise<void> {
  const line = m.line();
  for (const node of r.nodes) {
    const snap = await node.snapshot(APP, r.queue);
    expect(snap.seq).toBe(m.seq);
    expect(snap.callers.filter((c) => c.status === 'waiting').map((c) => c.uuid)).toEqual(line);
    for (const c of snap.callers) {
      const mc = m.callers.get(c.uuid);
      expect(mc).toBeDefined();
      expect([c.status, c.priority, c.member_uuid, c.position]).toEqual([
        mc!.status, mc!.priority, mc!.member, mc!.status === 'waiting' ? line.indexOf(c.uuid) : null,
      ]);
    }
    expect(snap.callers.length).toBe(m.callers.size);
    const paused = new Map(snap.members.map((x) => [x.uuid, x.paused]));
    expect(r.members.map((uuid) => paused.get(uuid))).toEqual(m.paused);
    expect(snap.stats).toMatchObject({
      callers: m.callers.size,
      callers_waiting: line.length,
      members_paused: m.paused.filter(Boolean).length,
    });
  }
  for (const f of r.followers) {
    await f.waitFor(m.seq);
    expect(f.problems).toEqual([]);
    expect(f.view.seq).toBe(m.seq);
    expect(f.view.waitingLine()).toEqual(line);
    for (const c of f.view.orderedCallers()) {
      const mc = m.callers.get(c.uuid)!;
      expect([c.status, c.priority, c.member_uuid]).toEqual([mc.status, mc.priority, mc.member]);
    }
    expect(f.view.orderedCallers().length).toBe(m.callers.size);
  }
}

const node = fc.integer({ min: 0, max: 1 });
const priority = fc.integer({ min: -2, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), node, priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), node, pick: fc.nat(), reason: fc.constantFrom(...LEAVE_REASONS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('priority' as const), node, pick: fc.nat(), priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('status' as const), node, pick: fc.nat(), choice: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), node, member: fc.integer({ min: 0, max: 1 }) }) },
);
const batchArb = fc.array(opArb, { minLength: 1, maxLength: 4 }).map((ops) => new Batch(ops));

describe.each(callStoreFactories)('call positions model ($name store)', (factory) => {
  it('agrees with a plain model, the snapshots and each node\'s follower after every concurrent batch', async () => {
    const prefix = freshPrefix('calls-model');
    const [n1, n2] = factory.name === 'redis'
      ? [await factory.open({ prefix }), await factory.open({ prefix })]
      : await factory.open().then((s) => [s, s] as const);
    try {
      await fc.assert(
        fc.asyncProperty(fc.commands([batchArb], { maxCommands: 25 }), async (cmds) => {
          const queue = (await n1.createCallQueue(APP, {
            name: 'support', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20,
          })).uuid;
          const members: string[] = [];
          for (const name of ['alice', 'bob']) {
            const a = await n1.createAgent(APP, { name, project_id: null, user_id: null });
            await n1.addMember(APP, queue, { agent_uuid: a.uuid, number: '1001@example.org', paused: false, pause_reason: null, status: 'available' });
            members.push(a.uuid);
          }
          const followers = [await Follower.start(n1, APP, queue), await Follower.start(n2, APP, queue)];
          const model = new Model();
          model.seq = 2;
          const real: Real = { nodes: [n1, n2], queue, members: [members[0]!, members[1]!], followers };
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
          } finally {
            await Promise.all(followers.map((f) => f.stop()));
          }
        }),
        { numRuns: 30 },
      );
    } finally {
      await n1.close();
      if (n2 !== n1) await n2.close();
    }
  }, 120_000);
});
