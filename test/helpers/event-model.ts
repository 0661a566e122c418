/**
 * The event log's model tests (issue 13): their operations on two nodes' call stores, drawn at
 * random, the application each run sets up, and how an expected event is compared with a logged
 * one. Used by test/integration/events-model.test.ts (two nodes on memory and on one Redis) and
 * test/cluster/events-failover-cluster.test.ts (a Redis Cluster losing a primary), which differ only
 * in what they conclude from an operation's outcome.
 */
import fc from 'fast-check';
import type { CallQueueChange } from '../../src/engine/call-types.js';
import { buildEvent, changeEventValues, type LoggedEvent, type TraitValues } from '../../src/engine/events.js';
import type { EventNode } from './event-stores.js';

export type Op =
  | { kind: 'join'; node: number; queue: number; priority: number }
  | { kind: 'leave'; node: number; queue: number; pick: number; reason: 'answered' | 'abandoned' }
  | { kind: 'priority'; node: number; queue: number; pick: number; priority: number }
  | { kind: 'member'; node: number; queue: number; agent: number }
  | { kind: 'pause'; node: number; queue: number; agent: number; paused: boolean }
  | { kind: 'unmember'; node: number; queue: number; agent: number }
  | { kind: 'tag'; node: number; agent: number; on: boolean }
  | { kind: 'rename'; node: number; agent: number; name: string };

const node = fc.integer({ min: 0, max: 1 });
const queue = fc.integer({ min: 0, max: 1 });
const agent = fc.integer({ min: 0, max: 2 });
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), node, queue, priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('leave' as const), node, queue, pick: fc.nat(), reason: fc.constantFrom('answered' as const, 'abandoned' as const) }),
  fc.record({ kind: fc.constant('priority' as const), node, queue, pick: fc.nat(), priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('member' as const), node, queue, agent }),
  fc.record({ kind: fc.constant('pause' as const), node, queue, agent, paused: fc.boolean() }),
  fc.record({ kind: fc.constant('unmember' as const), node, queue, agent }),
  fc.record({ kind: fc.constant('tag' as const), node, agent, on: fc.boolean() }),
  fc.record({ kind: fc.constant('rename' as const), node, agent, name: fc.constantFrom('a', 'b', 'c') }),
);

/** An event as the tests compare it: its type and typed traits. */
export function traitsOf(app: string, type: string, values: TraitValues): string {
  return JSON.stringify([type, buildEvent(app, type, values, 0, 'x').traits]);
}

export function changeKey(app: string, c: CallQueueChange): string {
  const { type, values } = changeEventValues(c);
  return traitsOf(app, type, values);
}

export function eventKey(e: LoggedEvent): string {
  return JSON.stringify([e.event.event_type, e.event.traits]);
}

/** One run's application: three agents, two call queues, the tag `vip`, and the callers joined so far. */
export interface ModelWorld {
  app: string;
  agents: string[];
  queues: string[];
  callers: string[][];
  /** The events the set-up recorded. */
  setupEvents: number;
}

export async function modelWorld(a: EventNode, app: string): Promise<ModelWorld> {
  const agents: string[] = [];
  for (let i = 0; i < 3; i++) agents.push((await a.calls.createAgent(app, { name: `agent${i}`, project_id: null, user_id: null })).uuid);
  const queues: string[] = [];
  for (let i = 0; i < 2; i++) {
    queues.push((await a.calls.createCallQueue(app, { name: `q${i}`, description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 })).uuid);
  }
  await a.calls.createTag(app, 'vip');
  return { app, agents, queues, callers: [[], []], setupEvents: 3 + 2 + 1 };
}

/** The application-slot event an agent rename or a tagging records (for `op.kind` tag: when it changed anything). */
export function appEventOf(w: ModelWorld, op: Extract<Op, { kind: 'tag' | 'rename' }>): string {
  const id = w.agents[op.agent]!;
  if (op.kind === 'tag') return traitsOf(w.app, op.on ? 'tag.agent.add' : 'tag.agent.remove', { tag_id: 1, tag: 'vip', agent_id: id });
  return traitsOf(w.app, 'agent.update', { agent_id: id, name: op.name, user_id: null, owner_project_id: null });
}

/**
 * What an acknowledged operation recorded: its call queue's change, the application-slot event it
 * implies (its traitsOf key), or nothing (a leave or priority change with no caller to pick, an
 * untagging of an untagged agent). Refusals and failures are thrown as the call store throws them.
 */
export type Outcome = { change: CallQueueChange } | { appEvent: string } | null;

export async function applyOp(nodes: readonly EventNode[], w: ModelWorld, op: Op): Promise<Outcome> {
  const { calls } = nodes[op.node]!;
  const { app, agents } = w;
  const q = 'queue' in op ? w.queues[op.queue]! : '';
  const changed = (change: CallQueueChange | null): Outcome => (change === null ? null : { change });
  switch (op.kind) {
    case 'join': {
      const m = await calls.joinCaller(app, q, { name: 'c', number: '1', priority: op.priority });
      w.callers[op.queue]!.push(m.value.uuid);
      return changed(m.change);
    }
    case 'leave': {
      const list = w.callers[op.queue]!;
      if (list.length === 0) return null;
      return changed((await calls.leaveCaller(app, q, list[op.pick % list.length]!, op.reason)).change);
    }
    case 'priority': {
      const list = w.callers[op.queue]!;
      if (list.length === 0) return null;
      return changed((await calls.updateCaller(app, q, list[op.pick % list.length]!, { priority: op.priority })).change);
    }
    case 'member':
      return changed((await calls.addMember(app, q, { agent_uuid: agents[op.agent]!, number: '100', paused: false, pause_reason: null, status: 'available' })).change);
    case 'pause':
      return changed((await calls.updateMember(app, q, agents[op.agent]!, { paused: op.paused, pause_reason: op.paused ? 'break' : null })).change);
    case 'unmember':
      return changed((await calls.removeMember(app, q, agents[op.agent]!)).change);
    case 'tag': {
      const id = agents[op.agent]!;
      const done = op.on ? (await calls.tagAgent(app, 'vip', id)).created : await calls.untagAgent(app, 'vip', id);
      return done ? { appEvent: appEventOf(w, op) } : null;
    }
    case 'rename':
      await calls.updateAgent(app, agents[op.agent]!, { name: op.name });
      return { appEvent: appEventOf(w, op) };
  }
}
