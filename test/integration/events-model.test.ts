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
import { eventTypeDef } from '../../src/engine/events.js';
import { applyOp, changeKey, eventKey, modelWorld, opArb, type Op } from '../helpers/event-model.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { randomName } from '../helpers/engines.js';

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
        const w = await modelWorld(a, app);
        const { queues, setupEvents } = w;
        const changes: CallQueueChange[] = [];
        const appExpected: string[] = [];

        const run = async (op: Op): Promise<void> => {
          try {
            const out = await applyOp(nodes, w, op);
            if (out !== null && 'change' in out) changes.push(out.change);
            else if (out !== null) appExpected.push(out.appEvent);
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
        expect(log.length).toBe(setupEvents + changes.length + appExpected.length);

        for (const [i, q] of queues.entries()) {
          const mine = changes.filter((c) => c.queue_id === q).sort((x, y) => x.seq - y.seq);
          expect(mine.map((c) => c.seq), `queue ${i} seqs`).toEqual(mine.map((_, k) => k + 1));
          const inLog = log.filter((e) => e.event.traits.some((t) => t.name === 'queue_id' && t.value === q) && e.event.event_type !== 'queue.create');
          expect(inLog.map(eventKey), `queue ${i} events`).toEqual(mine.map((c) => changeKey(app, c)));
        }
        const appEvents = log.filter((e) => e.event.event_type === 'agent.update' || e.event.event_type.startsWith('tag.agent.'));
        expect(appEvents.map(eventKey).sort()).toEqual([...appExpected].sort());
        // The type catalogue: each type the log has, with its declared traits and those its events have had.
        const seen: Record<string, Record<string, string>> = {};
        for (const { event } of log) {
          seen[event.event_type] ??= { project_id: 'string', ...eventTypeDef(event.event_type)?.traits };
          for (const t of event.traits) seen[event.event_type]![t.name] = t.type;
        }
        expect(await a.engine.events.types(app)).toEqual(seen);
      }),
      { numRuns: factory.name === 'memory' ? 30 : 12 },
    );
  });
});
