/**
 * Model-based test of recording (issue 13, "What must hold"): random call-queue, member, caller,
 * agent and tag operations, issued in concurrent batches through two nodes sharing one Redis (two
 * engine + call store pairs on one prefix, each relaying its own outboxes), and on the memory pair.
 * Afterwards the application's event log holds exactly one event per acknowledged change (none for
 * a refused or no-op one, none twice), each call queue's events in the order the queue numbered its
 * changes, each with the traits its change implies.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallQueueChange } from '../../src/engine/call-types.js';
import { buildEvent, changeEventValues, type LoggedEvent, type TraitValues } from '../../src/engine/events.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { randomName } from '../helpers/engines.js';

type Op =
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
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), node, queue, priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('leave' as const), node, queue, pick: fc.nat(), reason: fc.constantFrom('answered' as const, 'abandoned' as const) }),
  fc.record({ kind: fc.constant('priority' as const), node, queue, pick: fc.nat(), priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('member' as const), node, queue, agent }),
  fc.record({ kind: fc.constant('pause' as const), node, queue, agent, paused: fc.boolean() }),
  fc.record({ kind: fc.constant('unmember' as const), node, queue, agent }),
  fc.record({ kind: fc.constant('tag' as const), node, agent, on: fc.boolean() }),
  fc.record({ kind: fc.constant('rename' as const), node, agent, name: fc.constantFrom('a', 'b', 'c') }),
);

/** What an acknowledged operation must have recorded: its queue change, or an app-slot event. */
type Expected = { queue: string; change: CallQueueChange } | { queue: null; type: string; values: TraitValues };

function traitsOf(app: string, type: string, values: TraitValues): string {
  return JSON.stringify([type, buildEvent(app, type, values, 0, 'x').traits]);
}

function eventKey(e: LoggedEvent): string {
  return JSON.stringify([e.event.event_type, e.event.traits]);
}

describe.each(eventNodeFactories)('event log model ($name, two nodes)', (factory) => {
  let nodes: EventNode[] = [];
  beforeAll(async () => {
    if (factory.name === 'memory') {
      const one = await factory.open();
      nodes = [one, one];
    } else {
      const prefix = freshPrefix('evmodel');
      nodes = [await factory.open({ prefix }), await factory.open({ prefix })];
    }
  });
  afterAll(async () => {
    for (const n of new Set(nodes)) await n.close();
  });

  it('holds exactly one event per acknowledged change, in each call queue\'s order, with its traits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }), async (batches) => {
        const app = randomName('app');
        const [a] = nodes as [EventNode, EventNode];
        const agents: string[] = [];
        for (let i = 0; i < 3; i++) agents.push((await a.calls.createAgent(app, { name: `agent${i}`, project_id: null, user_id: null })).uuid);
        const queues: string[] = [];
        for (let i = 0; i < 2; i++) {
          queues.push((await a.calls.createCallQueue(app, { name: `q${i}`, description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 })).uuid);
        }
        await a.calls.createTag(app, 'vip');
        const setupEvents = 3 + 2 + 1;
        const callers: string[][] = [[], []];
        const expected: Expected[] = [];

        const run = async (op: Op): Promise<void> => {
          const { calls } = nodes[op.node]!;
          const q = 'queue' in op ? queues[op.queue]! : '';
          const noted = (change: CallQueueChange | null) => {
            if (change !== null) expected.push({ queue: change.queue_id, change });
          };
          try {
            switch (op.kind) {
              case 'join': {
                const m = await calls.joinCaller(app, q, { name: 'c', number: '1', priority: op.priority });
                callers[op.queue]!.push(m.value.uuid);
                return noted(m.change);
              }
              case 'leave': {
                const list = callers[op.queue]!;
                if (list.length === 0) return;
                return noted(await calls.leaveCaller(app, q, list[op.pick % list.length]!, op.reason));
              }
              case 'priority': {
                const list = callers[op.queue]!;
                if (list.length === 0) return;
                return noted((await calls.updateCaller(app, q, list[op.pick % list.length]!, { priority: op.priority })).change);
              }
              case 'member':
                return noted((await calls.addMember(app, q, { agent_uuid: agents[op.agent]!, number: '100', paused: false, pause_reason: null, status: 'available' })).change);
              case 'pause':
                return noted((await calls.updateMember(app, q, agents[op.agent]!, { paused: op.paused, pause_reason: op.paused ? 'break' : null })).change);
              case 'unmember':
                return noted(await calls.removeMember(app, q, agents[op.agent]!));
              case 'tag': {
                const id = agents[op.agent]!;
                const changed = op.on ? (await calls.tagAgent(app, 'vip', id)).created : await calls.untagAgent(app, 'vip', id);
                if (changed) expected.push({ queue: null, type: op.on ? 'tag.agent.add' : 'tag.agent.remove', values: { tag_id: 1, tag: 'vip', agent_id: id } });
                return;
              }
              case 'rename': {
                const r = await calls.updateAgent(app, agents[op.agent]!, { name: op.name });
                expected.push({ queue: null, type: 'agent.update', values: { agent_id: r.uuid, name: r.name, user_id: null, owner_project_id: null } });
                return;
              }
            }
          } catch (err) {
            // Refused (a caller already gone, a member absent or present twice): no change, no event.
            if (!(err instanceof Error && 'code' in err)) throw err;
          }
        };
        for (const batch of batches) await Promise.all(batch.map(run));

        for (const n of nodes) await n.engine.events.flush();
        const log = (await a.engine.events.readSince(app, 0, 100_000))!;
        expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
        expect(new Set(log.map((e) => e.event.message_id)).size).toBe(log.length);
        expect(log.length).toBe(setupEvents + expected.length);

        for (const [i, q] of queues.entries()) {
          const changes = expected
            .filter((x): x is Extract<Expected, { queue: string }> => x.queue === q)
            .map((x) => x.change)
            .sort((x, y) => x.seq - y.seq);
          expect(changes.map((c) => c.seq), `queue ${i} seqs`).toEqual(changes.map((_, k) => k + 1));
          const inLog = log.filter((e) => e.event.traits.some((t) => t.name === 'queue_id' && t.value === q) && e.event.event_type !== 'queue.create');
          expect(inLog.map(eventKey), `queue ${i} events`).toEqual(
            changes.map((c) => {
              const { type, values } = changeEventValues(c);
              return traitsOf(app, type, values);
            }),
          );
        }
        const appEvents = log.filter((e) => e.event.event_type === 'agent.update' || e.event.event_type.startsWith('tag.agent.'));
        const appExpected = expected.filter((x): x is Extract<Expected, { queue: null }> => x.queue === null);
        expect(appEvents.map(eventKey).sort()).toEqual(appExpected.map((x) => traitsOf(app, x.type, x.values)).sort());
      }),
      { numRuns: factory.name === 'memory' ? 30 : 12 },
    );
  });
});
